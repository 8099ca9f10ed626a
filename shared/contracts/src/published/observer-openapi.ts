import type { z } from 'zod';
import { deadLetterCountSchema, observerInvariantsSchema, observerMapSchema, violationResolvedSchema } from '../observer';

/** The observer (services/observer) in the OpenAPI document: its server, schemas and paths. */
export const OBSERVER_SERVER = { url: 'http://localhost:3005', description: 'the observer' };

export const OBSERVER_SCHEMAS = {
  ObserverMap: [observerMapSchema, 'output'],
  ObserverInvariants: [observerInvariantsSchema, 'output'],
  ViolationResolved: [violationResolvedSchema, 'output'],
  DeadLetterCount: [deadLetterCountSchema, 'output'],
} as const satisfies Record<string, readonly [z.ZodType, 'input' | 'output']>;

type Name = keyof typeof OBSERVER_SCHEMAS | 'Error';
const json = (name: Name, description: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${name}` } } } });

interface Access {
  security: Record<string, string[]>[];
  errors: Record<string, unknown>;
}

/**
 * The observer's paths, and the dead-letter count every service serves it. `operator`: an
 * operator's read; `admin`: the admin API's security and refusals; `services`: the four services'
 * servers.
 */
export function observerPaths(operator: Access, admin: Access, services: { url: string; description: string }[]) {
  const observer = { servers: [OBSERVER_SERVER] };
  return {
    '/map': {
      ...observer,
      get: {
        operationId: 'observerMap',
        tags: ['observer'],
        summary: 'The choreography as the AsyncAPI document draws it, with the traffic seen, each subscription\'s queue and the drift from the contract',
        security: operator.security,
        responses: { '200': json('ObserverMap', 'The map'), ...operator.errors },
      },
    },
    '/invariants': {
      ...observer,
      get: {
        operationId: 'observerInvariants',
        tags: ['observer'],
        summary: 'The business invariants checked live over the window of orders: the open violations and how many were found',
        security: operator.security,
        responses: { '200': json('ObserverInvariants', 'The open violations'), ...operator.errors },
      },
    },
    '/admin/invariants/{id}/resolve': {
      ...observer,
      post: {
        operationId: 'resolveViolation',
        tags: ['observer', 'admin'],
        summary: 'Mark a violation resolved that cannot mend itself (a duplicate or forged event), once the data is mended',
        security: admin.security,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { '200': json('ViolationResolved', 'Resolved'), ...admin.errors, '404': json('Error', 'No open violation with this id, or ADMIN_TOKEN is not set') },
      },
    },
    '/dead-letters/count': {
      servers: services,
      get: {
        operationId: 'deadLetterCount',
        tags: ['operations'],
        summary: 'How many dead letters this service keeps, or keeps about one order (the messages stay behind the admin token)',
        security: operator.security,
        parameters: [{ name: 'orderId', in: 'query', required: false, description: 'Only the dead letters about this order', schema: { type: 'string', format: 'uuid' } }],
        responses: { '200': json('DeadLetterCount', 'The count'), '400': json('Error', 'orderId not a UUID, or an unknown parameter'), ...operator.errors },
      },
    },
  };
}
