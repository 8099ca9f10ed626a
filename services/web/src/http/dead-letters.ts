import { SERVICES, webDeadLetterSelectionSchema, type DeadLetterGroupList, type DeadLetterList, type ServiceName, type WebDeadLetters } from '@troupe/contracts';
import { HttpError, validationError } from '@troupe/platform';
import type { Express, Request, Response, RequestHandler } from 'express';
import { z } from 'zod';
import type { DeadLetterView } from '../journey';
import type { Upstream } from '../upstream';

const serviceName = z.enum(SERVICES);
const selection = webDeadLetterSelectionSchema;

/** One service's dead letters through its admin API, each with the order it was about. */
export async function deadLettersOf(upstream: Pick<Upstream, 'get'>, service: ServiceName): Promise<{ service: ServiceName; count: number; messages: DeadLetterView[] }> {
  const { count, messages } = await upstream.get<DeadLetterList>(service, '/admin/dlq?limit=100', { admin: true });
  return {
    service,
    count,
    messages: messages.map((m) => ({
      service,
      id: m.id,
      type: m.type,
      queue: m.queue,
      reason: m.reason,
      error: m.error,
      attempts: m.attempts,
      lastFailureAt: m.lastFailureAt,
      replayCount: m.replayCount,
      orderId: orderIdOf(m.body),
    })),
  };
}

function orderIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { orderId?: unknown };
    return typeof parsed.orderId === 'string' ? parsed.orderId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One service's panel: its dead letters and their failure groups. The groups are asked for on
 * their own: a service that cannot group them (one not yet upgraded answers 404) still shows its
 * messages, with why the groups are missing.
 */
export async function deadLetterPanelOf(upstream: Pick<Upstream, 'get'>, service: ServiceName): Promise<WebDeadLetters['services'][number]> {
  const [list, groups] = await Promise.allSettled([
    deadLettersOf(upstream, service),
    upstream.get<DeadLetterGroupList>(service, '/admin/dlq/groups?limit=100', { admin: true }),
  ]);
  if (list.status === 'rejected') return { service, count: 0, messages: [], groups: [], available: false, error: (list.reason as Error).message };
  if (groups.status === 'rejected') return { ...list.value, groups: [], available: true, groupsError: (groups.reason as Error).message };
  return { ...list.value, groups: groups.value.groups, available: true };
}

/** Dead letters of every service and their failure groups, replay and purge: registered only when an admin token is set. */
export function deadLetterRoutes(app: Express, upstream: Upstream, guard: RequestHandler): void {
  app.get('/api/admin/dead-letters', guard, async (_req, res) => {
    const services = await Promise.all(SERVICES.map((service) => deadLetterPanelOf(upstream, service)));
    res.json({ services } satisfies WebDeadLetters);
  });

  for (const action of ['replay', 'purge'] as const) {
    app.post(`/api/admin/dead-letters/:service/${action}`, guard, async (req: Request<{ service: string }>, res: Response) => {
      const service = serviceName.safeParse(req.params.service);
      if (!service.success) throw new HttpError(404, `no service ${req.params.service.slice(0, 40)}`);
      const wanted = selection.safeParse(req.body);
      if (!wanted.success) throw validationError(wanted.error);
      const response = await upstream.call(service.data, `/admin/dlq/${action}`, { method: 'POST', body: wanted.data, admin: true });
      res.status(response.status).json(response.body);
    });
  }
}
