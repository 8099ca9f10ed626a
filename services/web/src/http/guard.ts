import { timingSafeEqual } from 'node:crypto';
import { HttpError } from '@troupe/platform';
import type { NextFunction, Request, Response } from 'express';

/** `Authorization: Bearer <token>` or 401, compared in constant time (as the services do). */
export function bearerGuard(token: string) {
  const expected = Buffer.from(token);
  return (req: Request, _res: Response, next: NextFunction) => {
    const given = Buffer.from(/^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return next(new HttpError(401, 'admin token required'));
    next();
  };
}
