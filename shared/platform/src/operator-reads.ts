import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { hasAdminToken } from './admin-guard';
import { HttpError } from './http';

/**
 * Reads that are an operator's view, not a customer's (docs/decisions/0029): the list of every
 * customer's orders, the failed attempts and their error texts, the gateway's ledger, a
 * notification's address and body. They need `Authorization: Bearer <token>` with the read-only
 * OPERATOR_READ_TOKEN, or ADMIN_TOKEN (whoever may change things may look); with neither set,
 * they do not exist.
 */
export interface OperatorReads {
  /** 401 unless the request carries one of the tokens. */
  guard: RequestHandler;
  /** Whether the request carries one of the tokens (compared in constant time). */
  allows(req: Request): boolean;
}

/** The operator's reads for these tokens, or undefined when neither is set (the routes are then off). */
export function operatorReads(config: { OPERATOR_READ_TOKEN?: string | undefined; ADMIN_TOKEN?: string | undefined }): OperatorReads | undefined {
  const { OPERATOR_READ_TOKEN: read, ADMIN_TOKEN: admin } = config;
  if (!read && !admin) return undefined;
  const allows = (req: Request) => hasAdminToken(req, read) || hasAdminToken(req, admin);
  return {
    allows,
    guard: (req: Request, _res: Response, next: NextFunction) => {
      // As the admin API refuses: a 401 that says how to authenticate (RFC 9110 section 11.6.1).
      if (!allows(req)) return next(new HttpError(401, 'operator token required: Authorization: Bearer <OPERATOR_READ_TOKEN>', undefined, { 'WWW-Authenticate': 'Bearer' }));
      next();
    },
  };
}
