import type { ViolationResolved } from '@troupe/contracts';
import { HttpError, type OperatorReads } from '@troupe/platform';
import type { Express, RequestHandler } from 'express';
import type { Observer } from '../observer';

/**
 * GET /map and /invariants, an operator's reads (the read token or the admin token; neither
 * set, they do not exist), and POST /admin/invariants/{id}/resolve behind the admin token.
 */
export function observerRoutes(app: Express, observer: Observer, reads: OperatorReads | undefined, adminGuard: RequestHandler | undefined): void {
  if (reads) {
    app.get('/map', reads.guard, (_req, res) => {
      res.json(observer.map());
    });
    app.get('/invariants', reads.guard, (_req, res) => {
      res.json(observer.invariants());
    });
  }
  if (adminGuard) {
    app.post('/admin/invariants/:id/resolve', adminGuard, (req, res) => {
      const id = String(req.params.id);
      if (!observer.violations.resolve(id)) throw new HttpError(404, `no open violation ${id.slice(0, 200)}`);
      res.json({ resolved: id } satisfies ViolationResolved);
    });
  }
}
