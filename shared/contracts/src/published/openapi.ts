import type { z } from 'zod';
import {
  deadLetterGroupListSchema,
  deadLetterGroupsQuerySchema,
  deadLetterListSchema,
  deadLetterPurgeResultSchema,
  deadLetterReplayResultSchema,
  deadLetterSelectionSchema,
  errorSchema,
  faultChangeSchema,
  faultFlagsSchema,
  healthSchema,
  notificationListSchema,
  orderListQuerySchema,
  orderListSchema,
  orderRequestSchema,
  orderViewSchema,
  readinessSchema,
  stockLevelSchema,
  deadLetterListQuerySchema,
  failedAttemptListSchema,
  failedAttemptsQuerySchema,
  idempotencyKeySchema,
} from '../http';
import {
  journeySchema,
  ordersFeedEventSchema,
  placedOrderSchema,
  webDeadLettersSchema,
  webFaultsSchema,
  webSettingsSchema,
  webStockSchema,
} from '../web';
import { SERVICES, type ServiceName } from '../topology';
import { GATEWAY_SCHEMAS, GATEWAY_SERVER, gatewayPaths } from './gateway-openapi';
import { OBSERVER_SCHEMAS, OBSERVER_SERVER, observerPaths } from './observer-openapi';
import { jsonSchema } from './json-schema';

const PORTS: Record<ServiceName, number> = { order: 3000, payment: 3001, inventory: 3002, notification: 3003 };
const server = (service: ServiceName) => ({ url: `http://localhost:${PORTS[service]}`, description: `the ${service} service` });
const ALL = SERVICES.map(server);
const FAULTY = [GATEWAY_SERVER, ...(['inventory', 'notification'] as const).map(server)];
const WEB = { url: 'http://localhost:8080', description: 'the web front (the page and its API)' };
/** The files of the page, served as they are (services/web/public; a test keeps the list current). */
export const WEB_ASSETS = ['app.js', 'choreography.js', 'index.html', 'map.js', 'style.css'] as const;

const SCHEMAS = {
  OrderRequest: [orderRequestSchema, 'input'],
  Order: [orderViewSchema, 'output'],
  OrderList: [orderListSchema, 'output'],
  StockLevel: [stockLevelSchema, 'output'],
  NotificationList: [notificationListSchema, 'output'],
  Error: [errorSchema, 'output'],
  Health: [healthSchema, 'output'],
  Readiness: [readinessSchema, 'output'],
  DeadLetterSelection: [deadLetterSelectionSchema, 'input'],
  DeadLetterList: [deadLetterListSchema, 'output'],
  DeadLetterGroupList: [deadLetterGroupListSchema, 'output'],
  DeadLetterReplayResult: [deadLetterReplayResultSchema, 'output'],
  DeadLetterPurgeResult: [deadLetterPurgeResultSchema, 'output'],
  FaultFlags: [faultFlagsSchema, 'output'],
  FaultChange: [faultChangeSchema, 'input'],
  FailedAttemptList: [failedAttemptListSchema, 'output'],
  WebSettings: [webSettingsSchema, 'output'],
  PlacedOrder: [placedOrderSchema, 'output'],
  OrdersFeedEvent: [ordersFeedEventSchema, 'output'],
  Journey: [journeySchema, 'output'],
  WebStock: [webStockSchema, 'output'],
  WebDeadLetters: [webDeadLettersSchema, 'output'],
  WebFaults: [webFaultsSchema, 'output'],
} as const satisfies Record<string, readonly [z.ZodType, 'input' | 'output']>;

// The web front passes the observer's answers on: its routes name the observer's schemas.
type SchemaName = keyof typeof SCHEMAS | keyof typeof OBSERVER_SCHEMAS;
const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: SchemaName, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => json('Error', description);
const query = (name: string, schema: z.ZodType, description: string, required = false) => ({ name, in: 'query', required, description, schema: jsonSchema(schema, 'draft-2020-12', 'output') });
const admin = { security: [{ adminToken: [] }], tags: ['admin'] };
/** A 503: the service's database, broker or another dependency is away for now (docs/decisions/0009). */
const unavailable = (description: string) => ({
  ...error(description),
  headers: { 'Retry-After': { description: 'Seconds to wait before trying again', required: false, schema: { type: 'string', pattern: '^[0-9]+$' } } },
});
const dependencyAway = unavailable('A dependency (the database, the broker) is away; try again after Retry-After seconds');
const badPath = error('The path is not valid percent-encoded UTF-8');
const noAdmin = error('ADMIN_TOKEN is not set: the admin routes do not exist');
const adminErrors = {
  '401': { ...error('No or a wrong admin token'), headers: { 'WWW-Authenticate': { description: 'How to authenticate: Bearer (the admin token)', required: true, schema: { type: 'string', const: 'Bearer' } } } },
  '404': noAdmin,
  '503': unavailable('The broker is unavailable; try again'),
};
/** An operator's read (docs/decisions/0029): the read-only operator token, or the admin token. */
const operator: { security: Record<string, string[]>[] } = { security: [{ operatorToken: [] }, { adminToken: [] }] };
const operatorErrors = {
  '401': {
    ...error('No or a wrong token; the error names the header (Authorization: Bearer <OPERATOR_READ_TOKEN>)'),
    headers: { 'WWW-Authenticate': { description: 'How to authenticate: Bearer (the operator token)', required: true, schema: { type: 'string', const: 'Bearer' } } },
  },
  '404': error('Neither OPERATOR_READ_TOKEN nor ADMIN_TOKEN is set: the route does not exist'),
};
const orderIdParameter = { name: 'orderId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
const webAdmin = { security: [{ adminToken: [] }], tags: ['web', 'admin'] };
const upstreamError = error('A service did not answer in time, or answered 5xx; the error names it');
const observerError = error('The observer did not answer in time, answered 5xx or refused the read; the error names it');

/**
 * The four services' HTTP APIs as an OpenAPI 3.1 document, generated from the zod contracts.
 * Each path says which service serves it (`servers`); the admin routes exist only where
 * ADMIN_TOKEN is set.
 */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'troupe HTTP APIs',
      version: '1.0.0',
      description:
        'The order, payment, inventory and notification services, the card gateway payment charges through, and the web front over them. Every 4xx and 5xx answer is JSON: `{ error, details? }`, a 400 naming each invalid field; so is the 400 to a request the HTTP parser cannot read, on any path. A path that is not here is 404.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: ALL,
    tags: [
      { name: 'orders' },
      { name: 'stock' },
      { name: 'notifications' },
      { name: 'operations' },
      { name: 'admin', description: 'Only when ADMIN_TOKEN is set' },
      { name: 'gateway', description: 'The card gateway (:3004): charges and refunds under the caller\'s idempotency key, and its ledger' },
      { name: 'observer', description: 'The observer (:3005): the choreography seen whole, and the business invariants checked live' },
      { name: 'web', description: 'The web front (:8080): the page and the API it calls, over the four services\' HTTP APIs' },
    ],
    paths: withCommonResponses({
      '/orders': {
        servers: [server('order')],
        post: {
          operationId: 'placeOrder',
          tags: ['orders'],
          summary: 'Place an order; it is then followed through payment, inventory and notification',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: 'The same key and body again replays the first response (Idempotent-Replayed: true); the same key with another body is 422',
              schema: jsonSchema(idempotencyKeySchema, 'draft-2020-12'),
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('OrderRequest') } } },
          responses: {
            '202': {
              ...json('Order', 'Accepted: the order is PENDING and its OrderPlaced is on its way'),
              headers: {
                Location: { description: '/orders/{orderId}', schema: { type: 'string' } },
                'Idempotent-Replayed': { description: '"true" when this is the stored answer to an earlier request with the same key', schema: { type: 'string', enum: ['true'] } },
              },
            },
            '400': error('Invalid body or Idempotency-Key, or an unknown SKU; details name the field'),
            '409': error('A request with the same Idempotency-Key is being processed; retry'),
            '413': error('Body larger than MAX_BODY_BYTES'),
            '415': error('Body is not JSON'),
            '422': error('Idempotency-Key already used with another body'),
            '503': unavailable('Overloaded (more than MAX_IN_FLIGHT requests waited longer than MAX_WAIT_MS), or a dependency is away; try again after Retry-After seconds'),
          },
        },
        get: {
          ...operator,
          operationId: 'listOrders',
          tags: ['orders'],
          summary: "The latest orders of every customer, newest first: an operator's view",
          parameters: [query('limit', orderListQuerySchema.shape.limit, 'How many (1-100)')],
          responses: { '200': json('OrderList', 'The latest orders'), '400': error('Invalid limit, or an unknown parameter'), ...operatorErrors, '503': dependencyAway },
        },
      },
      '/orders/{orderId}': {
        servers: [server('order')],
        get: {
          operationId: 'getOrder',
          tags: ['orders'],
          summary: 'An order: status and every event seen about it, in order',
          parameters: [{ name: 'orderId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { '200': json('Order', 'The order'), '400': badPath, '404': error('No such order'), '503': dependencyAway },
        },
      },
      '/stock/{sku}': {
        servers: [server('inventory')],
        get: {
          operationId: 'getStock',
          tags: ['stock'],
          summary: 'Stock of one SKU',
          parameters: [{ name: 'sku', in: 'path', required: true, schema: jsonSchema(stockLevelSchema.shape.sku, 'draft-2020-12') }],
          responses: { '200': json('StockLevel', 'Available and reserved units'), '400': badPath, '404': error('No such SKU'), '503': dependencyAway },
        },
      },
      '/notifications': {
        servers: [server('notification')],
        get: {
          operationId: 'listNotifications',
          tags: ['notifications'],
          summary: 'What a customer was told about an order',
          description: "A customer's view, found by the order's unguessable id. The address and the text sent (personal data) are in the answer only with an operator's token.",
          security: [{}, { operatorToken: [] }, { adminToken: [] }],
          parameters: [{ name: 'orderId', in: 'query', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { '200': json('NotificationList', 'The notifications, oldest first'), '400': error('orderId missing or not a UUID'), '503': dependencyAway },
        },
      },
      '/failed-attempts': {
        get: {
          operationId: 'listFailedAttempts',
          tags: ['operations'],
          summary: "The retries and dead-lettering an order's messages met in this service",
          description:
            'Every attempt at one of the order\'s messages that failed here, oldest first: retried (and the backoff) or dead-lettered (and why), with the error. The broker forgets a failure once a retry succeeds; this record does not (kept INBOX_RETENTION_SECONDS). An operator\'s view: the system\'s internals, and error texts that may hold anything.',
          ...operator,
          parameters: [query('orderId', failedAttemptsQuerySchema.shape.orderId, 'The order', true)],
          responses: { '200': json('FailedAttemptList', 'The failed attempts, oldest first'), '400': error('orderId missing or not a UUID'), ...operatorErrors, '503': dependencyAway },
        },
      },
      '/healthz': {
        servers: [...ALL, GATEWAY_SERVER, OBSERVER_SERVER, WEB],
        get: { operationId: 'health', tags: ['operations'], summary: 'The process is up', responses: { '200': json('Health', 'Up') } },
      },
      '/readyz': {
        servers: [...ALL, GATEWAY_SERVER, OBSERVER_SERVER, WEB],
        get: {
          operationId: 'readiness',
          tags: ['operations'],
          summary: 'Database, broker and every subscription consuming',
          responses: { '200': json('Readiness', 'Ready'), '503': json('Readiness', 'Not ready; checks say what is missing') },
        },
      },
      '/readyz/requests': {
        servers: ALL,
        get: {
          operationId: 'requestReadiness',
          tags: ['operations'],
          summary: 'This replica can take requests: its database answers (the broker may be away: the outbox keeps what it publishes)',
          description:
            "The probe to route requests by (Kubernetes' readinessProbe of the order service): unlike /readyz, which says whether every dependency is there, it leaves the broker out, so a broker outage does not take the order API off the network (docs/decisions/0027).",
          responses: { '200': json('Readiness', 'Ready; checks hold the database alone'), '503': json('Readiness', 'The database does not answer') },
        },
      },
      '/metrics': {
        servers: [...ALL, GATEWAY_SERVER, OBSERVER_SERVER, WEB],
        get: {
          operationId: 'metrics',
          tags: ['operations'],
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/admin/dlq': {
        get: {
          ...admin,
          operationId: 'listDeadLetters',
          summary: "The messages in this service's dead-letter queue (left in place)",
          parameters: [query('limit', deadLetterListQuerySchema.shape.limit, 'How many to show (1-10000)')],
          responses: { '200': json('DeadLetterList', 'The count and the first messages'), '400': error('Invalid limit'), ...adminErrors },
        },
      },
      '/admin/dlq/groups': {
        get: {
          ...admin,
          operationId: 'listDeadLetterGroups',
          summary: "This service's dead letters grouped by failure (event type, error class, message without ids and numbers), each with its newest letter",
          parameters: [query('limit', deadLetterGroupsQuerySchema.shape.limit, 'How many groups to show (1-1000), the most recently seen first')],
          responses: { '200': json('DeadLetterGroupList', 'The count of dead letters and the first groups'), '400': error('Invalid limit'), ...adminErrors },
        },
      },
      '/admin/dlq/replay': {
        post: {
          ...admin,
          operationId: 'replayDeadLetters',
          summary: 'Send messages back to the queue they failed on: these ids, one failure group, or all',
          requestBody: { required: true, content: { 'application/json': { schema: ref('DeadLetterSelection') } } },
          responses: {
            '200': json('DeadLetterReplayResult', 'What was replayed'),
            '400': error('Invalid selection'),
            ...adminErrors,
          },
        },
      },
      '/admin/dlq/purge': {
        post: {
          ...admin,
          operationId: 'purgeDeadLetters',
          summary: 'Delete messages from the dead-letter queue for good: these ids, one failure group, or all',
          requestBody: { required: true, content: { 'application/json': { schema: ref('DeadLetterSelection') } } },
          responses: {
            '200': json('DeadLetterPurgeResult', 'The ids purged'),
            '400': error('Invalid selection'),
            ...adminErrors,
          },
        },
      },
      '/admin/faults': {
        servers: FAULTY,
        get: { ...admin, operationId: 'getFaults', summary: "This service's fault switches", responses: { '200': json('FaultFlags', 'Every switch'), '401': adminErrors['401'], '404': noAdmin } },
        put: {
          ...admin,
          operationId: 'setFaults',
          summary: 'Change some fault switches (the rest keep their value)',
          requestBody: { required: true, content: { 'application/json': { schema: ref('FaultChange') } } },
          responses: { '200': json('FaultFlags', 'Every switch, after the change'), '400': error('An unknown switch or a value out of range; details name it'), '401': adminErrors['401'], '404': noAdmin },
        },
      },
      ...gatewayPaths({ ...operator, errors: operatorErrors }),
      ...observerPaths({ ...operator, errors: operatorErrors }, { security: admin.security, errors: { '401': adminErrors['401'], '404': noAdmin } }, ALL),
      ...webPaths(),
    }),
    components: {
      schemas: Object.fromEntries(
        [...Object.entries(SCHEMAS), ...Object.entries(GATEWAY_SCHEMAS), ...Object.entries(OBSERVER_SCHEMAS)].map(([name, [schema, io]]) => [name, jsonSchema(schema, 'draft-2020-12', io)]),
      ),
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' },
        operatorToken: { type: 'http', scheme: 'bearer', description: "OPERATOR_READ_TOKEN: an operator's reads, and nothing else" },
      },
    },
  };
}

/**
 * What any route may answer besides its own responses: Node's HTTP parser refuses headers over
 * 16 KB (431) and a request that does not arrive in time (408) before a route sees them, and a
 * route that takes a body refuses one over the size limit (413) or not JSON (415). A route's own
 * description of a status wins; the statuses are listed in order.
 */
function withCommonResponses<P extends Record<string, Record<string, unknown>>>(paths: P): P {
  const common = { '408': error('The request did not arrive in time'), '431': error('Request headers larger than 16 KB') };
  const withBody = { '413': error('Body larger than the limit'), '415': error('Body is not JSON (Content-Type: application/json)') };
  for (const item of Object.values(paths)) {
    for (const [method, value] of Object.entries(item)) {
      if (method === 'servers') continue;
      const operation = value as { responses: Record<string, unknown>; requestBody?: unknown };
      const responses: Record<string, unknown> = { ...common, ...(operation.requestBody ? withBody : {}), ...operation.responses };
      operation.responses = Object.fromEntries(Object.keys(responses).sort().map((status) => [status, responses[status]]));
    }
  }
  return paths;
}

/** The web front's routes (services/web): the page, the API it calls, and the published contracts. */
function webPaths() {
  const web = { servers: [WEB] };
  const document = (what: string) => ({ description: what, content: { 'application/json': { schema: { type: 'object' } } } });
  const notModified = { description: 'Not modified: the copy the browser revalidated (If-None-Match, If-Modified-Since) is current' };
  return {
    '/': {
      ...web,
      get: { tags: ['web'], operationId: 'webPage', summary: 'The page', responses: { '200': { description: 'index.html', content: { 'text/html': { schema: { type: 'string' } } } }, '304': notModified } },
    },
    '/{asset}': {
      ...web,
      get: {
        tags: ['web'],
        operationId: 'webAsset',
        summary: "The page's files, as they are (no build step), under a strict Content-Security-Policy",
        parameters: [{ name: 'asset', in: 'path', required: true, schema: { type: 'string', enum: [...WEB_ASSETS] } }],
        responses: { '200': { description: 'The file', content: { 'text/html': { schema: { type: 'string' } }, 'text/javascript': { schema: { type: 'string' } }, 'text/css': { schema: { type: 'string' } } } }, '304': notModified, '404': error('No such file') },
      },
    },
    '/api/settings': {
      ...web,
      get: { tags: ['web'], operationId: 'webSettings', summary: 'What the page offers: admin operations or not, links, the catalogue', responses: { '200': json('WebSettings', 'The settings') } },
    },
    '/api/orders': {
      ...web,
      post: {
        tags: ['web'],
        operationId: 'webPlaceOrder',
        summary: "Place an order through the order service; its answer comes back whole, whatever its status",
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, description: 'Passed to the order service', schema: jsonSchema(idempotencyKeySchema, 'draft-2020-12') }],
        requestBody: { required: true, description: 'Passed to the order service as it is, which validates it (a 400 naming the field comes back in `body`)', content: { 'application/json': { schema: ref('OrderRequest') } } },
        responses: { '200': json('PlacedOrder', "The order service's status, Location, Idempotent-Replayed and body"), '502': upstreamError },
      },
    },
    '/api/orders/stream': {
      ...web,
      get: {
        tags: ['web'],
        operationId: 'webOrdersStream',
        summary: 'The latest orders, live (server-sent events)',
        description:
          'An event `orders` at once and after every change, its `data` an OrdersFeedEvent (components.schemas.OrdersFeedEvent) as JSON: the latest LIVE_ORDERS orders. The web front asks the order service every POLL_INTERVAL_MS while at least one page listens, and sends only changes; a comment line every LIVE_STREAM_HEARTBEAT_MS. A reader that stops reading is sent nothing until it drains (then the latest list), and is dropped when it has not drained for a heartbeat interval.',
        responses: {
          '200': { description: 'text/event-stream: `event: orders` / `data: <OrdersFeedEvent>`, and `: heartbeat` comments', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          '503': unavailable('LIVE_STREAM_MAX_CLIENTS lists are being streamed already; try again after Retry-After seconds'),
        },
      },
    },
    '/api/orders/{orderId}/journey': {
      ...web,
      get: {
        tags: ['web'],
        operationId: 'webJourney',
        summary: "One order's journey: its events, the failed attempts on the way, what the customer was told, its trace",
        description: "With the admin token, also the order's dead letters and the failed attempts' error messages.",
        security: [{}, { adminToken: [] }],
        parameters: [orderIdParameter],
        responses: { '200': json('Journey', 'The journey so far'), '400': error('orderId is not a UUID'), '404': error('No such order'), '502': upstreamError },
      },
    },
    '/api/stock': {
      ...web,
      get: { tags: ['web'], operationId: 'webStock', summary: "The catalogue's stock, from the inventory service", responses: { '200': json('WebStock', 'Each SKU (null where inventory did not answer)'), '502': upstreamError } },
    },
    '/api/admin/dead-letters': {
      ...web,
      get: {
        ...webAdmin,
        operationId: 'webDeadLetters',
        summary: "Every service's dead letters, each with the order it was about, and its failure groups",
        responses: { '200': json('WebDeadLetters', 'Per service (available: false where it did not answer)'), '401': adminErrors['401'], '404': noAdmin },
      },
    },
    ...Object.fromEntries(
      (['replay', 'purge'] as const).map((action) => [
        `/api/admin/dead-letters/{service}/${action}`,
        {
          ...web,
          post: {
            ...webAdmin,
            operationId: action === 'replay' ? 'webReplayDeadLetters' : 'webPurgeDeadLetters',
            summary: action === 'replay' ? 'Replay dead letters of one service (its POST /admin/dlq/replay)' : 'Purge dead letters of one service (its POST /admin/dlq/purge)',
            parameters: [{ name: 'service', in: 'path', required: true, schema: { type: 'string', enum: [...SERVICES] } }],
            requestBody: { required: true, content: { 'application/json': { schema: ref('DeadLetterSelection') } } },
            responses: { '200': action === 'replay' ? json('DeadLetterReplayResult', 'What was replayed, as the service answered') : json('DeadLetterPurgeResult', 'The ids purged, as the service answered'), '400': error('Invalid selection'), '401': adminErrors['401'], '404': error('No such service, or ADMIN_TOKEN is not set'), '502': upstreamError },
          },
        },
      ]),
    ),
    '/api/admin/faults': {
      ...web,
      get: { ...webAdmin, operationId: 'webFaults', summary: 'The fault switches of the card gateway, inventory and notification', responses: { '200': json('WebFaults', 'Per service'), '401': adminErrors['401'], '404': noAdmin } },
    },
    '/api/admin/faults/{service}': {
      ...web,
      put: {
        ...webAdmin,
        operationId: 'webSetFaults',
        summary: "Change one service's fault switches (its PUT /admin/faults)",
        parameters: [{ name: 'service', in: 'path', required: true, schema: { type: 'string', enum: ['gateway', 'inventory', 'notification'] } }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('FaultChange') } } },
        responses: { '200': json('FaultFlags', 'Every switch, after the change'), '400': error('An unknown switch or a value out of range; details name it'), '401': adminErrors['401'], '404': error('No fault switches there, or ADMIN_TOKEN is not set'), '502': upstreamError },
      },
    },
    '/api/map': {
      ...web,
      get: {
        tags: ['web'],
        operationId: 'webMap',
        summary: "The choreography map: the observer's GET /map, read with the operator token server-side",
        responses: { '200': json('ObserverMap', 'Services, exchanges, edges with their rates, subscriptions and drift'), '502': observerError },
      },
    },
    '/api/invariants': {
      ...web,
      get: {
        tags: ['web'],
        operationId: 'webInvariants',
        summary: "The open invariant violations and the counts found: the observer's GET /invariants, read with the operator token server-side",
        responses: { '200': json('ObserverInvariants', 'Open violations, newest first, and the counts found'), '502': observerError },
      },
    },
    '/api/admin/invariants/{id}/resolve': {
      ...web,
      post: {
        ...webAdmin,
        operationId: 'webResolveInvariant',
        summary: "Mark a violation resolved, once its data has been mended (the observer's POST /admin/invariants/{id}/resolve)",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 200 } }],
        responses: { '200': json('ViolationResolved', 'The id resolved'), '400': error('id longer than 200 characters'), '401': adminErrors['401'], '404': error('No open violation with that id, or ADMIN_TOKEN is not set'), '502': observerError },
      },
    },
    '/contracts/asyncapi.json': {
      ...web,
      get: { tags: ['web'], operationId: 'asyncApiDocument', summary: 'The events, as an AsyncAPI 3.0 document (docs/contracts/asyncapi.json)', responses: { '200': document('The AsyncAPI document') } },
    },
    '/contracts/openapi.json': {
      ...web,
      get: { tags: ['web'], operationId: 'openApiDocument', summary: 'The HTTP APIs, as this OpenAPI 3.1 document (docs/contracts/openapi.json)', responses: { '200': document('This document') } },
    },
  };
}
