import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpError } from './http';

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time); never with no token configured. */
export function hasAdminToken(req: Request, token: string | undefined): boolean {
  if (!token) return false;
  const expected = Buffer.from(token);
  const given = Buffer.from(/^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** `Authorization: Bearer <token>` or 401, compared in constant time. */
export function adminGuard(token: string): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    // A 401 says how to authenticate (RFC 9110 section 11.6.1; the bearer scheme is RFC 6750's).
    if (!hasAdminToken(req, token)) return next(new HttpError(401, 'admin token required', undefined, { 'WWW-Authenticate': 'Bearer' }));
    next();
  };
}
