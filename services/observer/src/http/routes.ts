import type { ViolationResolved } from '@troupe/contracts';
import { HttpError, type OperatorReads } from '@troupe/platform';
import type { Express, Request, RequestHandler } from 'express';
import type { Observer } from '../observer';

/** The admin token's check: its guard, and whether a request carries it (without refusing one that does not). */
export interface AdminAccess {
  guard: RequestHandler;
  carries: (req: Request) => boolean;
}

/**
 * GET /map and /invariants, an operator's reads (the read token or the admin token; neither
 * set, they do not exist), and POST /admin/invariants/{id}/resolve behind the admin token. The
 * drift samples are message bodies (an event carries the customer's email): like every body,
 * only the admin token reads them (docs/decisions/0029), so /map leaves them out for the read token.
 */
export function observerRoutes(app: Express, observer: Observer, reads: OperatorReads | undefined, admin: AdminAccess | undefined): void {
  if (reads) {
    app.get('/map', reads.guard, (req, res) => {
      res.json(observer.map({ samples: admin?.carries(req) ?? false }));
    });
    app.get('/invariants', reads.guard, (_req, res) => {
      res.json(observer.invariants());
    });
  }
  if (admin) {
    app.post('/admin/invariants/:id/resolve', admin.guard, (req, res) => {
      const id = String(req.params.id);
      if (!observer.resolve(id)) throw new HttpError(404, `no open violation ${id.slice(0, 200)}`);
      res.json({ resolved: id } satisfies ViolationResolved);
    });
  }
}
