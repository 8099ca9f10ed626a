import type { WebInvariants, WebMap } from '@troupe/contracts';
import { HttpError } from '@troupe/platform';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Upstream } from '../upstream';
import { isAdmin } from './is-admin';

/** The observer's violation ids are short; anything longer is not one of them. */
const MAX_ID_LENGTH = 200;

/**
 * The choreography map and the invariants, from the observer: operators' reads, sent with the
 * operator token server-side. The map's drift samples are message bodies, which the observer
 * gives only to its admin token: the map is asked with that token only for a browser request that
 * carries the web front's admin token (`adminGuard`), so the samples reach an admin alone. Its
 * answers go to the page as they are; an observer that is not running is the page's 502 naming
 * it, which the map panel shows.
 */
export function observerRoutes(app: Express, upstream: Upstream, adminGuard: RequestHandler | undefined): void {
  app.get('/api/map', async (req, res) => {
    if (await isAdmin(adminGuard, req, res)) {
      const asAdmin = await upstream.call<WebMap>('observer', '/map', { admin: true });
      if (asAdmin.status === 200) return res.json(asAdmin.body);
      // An observer holding another admin token still gives the map, without the samples.
    }
    res.json(await upstream.get<WebMap>('observer', '/map', { operator: true }));
  });
  app.get('/api/invariants', async (_req, res) => {
    res.json(await upstream.get<WebInvariants>('observer', '/invariants', { operator: true }));
  });
}

/** Marking a violation resolved once its data is mended: registered only when an admin token is set. */
export function invariantAdminRoutes(app: Express, upstream: Upstream, guard: RequestHandler): void {
  app.post('/api/admin/invariants/:id/resolve', guard, async (req: Request<{ id: string }>, res: Response) => {
    const { id } = req.params;
    if (id.length > MAX_ID_LENGTH) throw new HttpError(400, `invalid request: id: must be at most ${MAX_ID_LENGTH} characters`, [{ field: 'id', message: `must be at most ${MAX_ID_LENGTH} characters` }]);
    const response = await upstream.call('observer', `/admin/invariants/${encodeURIComponent(id)}/resolve`, { method: 'POST', admin: true });
    // The web front has let the token through: an observer refusing it holds another one.
    if (response.status === 401 || response.status === 403) throw new HttpError(502, `the observer service refused the admin token (${response.status}): give it the web front's ADMIN_TOKEN`);
    res.status(response.status).json(response.body);
  });
}
