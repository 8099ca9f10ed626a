import { webFaultChangeSchema, type FaultFlags, type WebFaults } from '@troupe/contracts';
import { HttpError, validationError } from '@troupe/platform';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Upstream } from '../upstream';

/** What has fault switches: the card gateway (failures, latency), inventory and notification. */
export const FAULTY_SERVICES = ['gateway', 'inventory', 'notification'] as const;
const serviceName = z.enum(FAULTY_SERVICES);
// The service checks each flag's range and name; this only keeps the shape honest.
const change = webFaultChangeSchema;

/** Every service's fault switches, and changing them: registered only when an admin token is set. */
export function faultRoutes(app: Express, upstream: Upstream, guard: RequestHandler): void {
  app.get('/api/admin/faults', guard, async (_req, res) => {
    const services = await Promise.all(
      FAULTY_SERVICES.map((service) =>
        upstream.get<FaultFlags>(service, '/admin/faults', { admin: true }).then(
          ({ flags }) => ({ service, available: true, flags }),
          (error: unknown) => ({ service, available: false, flags: {}, error: (error as Error).message }),
        ),
      ),
    );
    res.json({ services } satisfies WebFaults);
  });

  app.put('/api/admin/faults/:service', guard, async (req: Request<{ service: string }>, res: Response) => {
    const service = serviceName.safeParse(req.params.service);
    if (!service.success) throw new HttpError(404, `no fault switches on ${req.params.service.slice(0, 40)}`);
    const wanted = change.safeParse(req.body);
    if (!wanted.success) throw validationError(wanted.error);
    const response = await upstream.call(service.data, '/admin/faults', { method: 'PUT', body: wanted.data, admin: true });
    res.status(response.status).json(response.body);
  });
}
