import type { Request, RequestHandler, Response } from 'express';

/**
 * Whether the browser's request carries the admin token, asked of the admin guard without
 * refusing one that does not: a read then shows an admin more (error messages, message bodies)
 * and everyone else the rest. No guard (no ADMIN_TOKEN set): nobody is.
 */
export const isAdmin = (guard: RequestHandler | undefined, req: Request, res: Response): Promise<boolean> =>
  new Promise((resolve) => {
    if (!guard) return resolve(false);
    void guard(req, res, (error?: unknown) => resolve(error === undefined));
  });
