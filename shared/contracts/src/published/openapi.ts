import type { z } from 'zod';
import {
  deadLetterListSchema,
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
  idempotencyKeySchema,
} from '../http';
import { SERVICES, type ServiceName } from '../topology';
import { jsonSchema } from './json-schema';

const PORTS: Record<ServiceName, number> = { order: 3000, payment: 3001, inventory: 3002, notification: 3003 };
const server = (service: ServiceName) => ({ url: `http://localhost:${PORTS[service]}`, description: `the ${service} service` });
const ALL = SERVICES.map(server);
const FAULTY = (['payment', 'inventory', 'notification'] as const).map(server);

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
  FaultFlags: [faultFlagsSchema, 'output'],
  FaultChange: [faultChangeSchema, 'input'],
} as const satisfies Record<string, readonly [z.ZodType, 'input' | 'output']>;

type SchemaName = keyof typeof SCHEMAS;
const ref = (name: SchemaName) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: SchemaName, description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => json('Error', description);
const query = (name: string, schema: z.ZodType, description: string, required = false) => ({ name, in: 'query', required, description, schema: jsonSchema(schema, 'draft-2020-12', 'output') });
const admin = { security: [{ adminToken: [] }], tags: ['admin'] };
const adminErrors = { '401': error('No or a wrong admin token'), '503': error('The broker is unavailable; try again') };

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
      description: 'The order, payment, inventory and notification services. Every 4xx and 5xx answer is JSON: `{ error, details? }`, a 400 naming each invalid field.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: ALL,
    tags: [{ name: 'orders' }, { name: 'stock' }, { name: 'notifications' }, { name: 'operations' }, { name: 'admin', description: 'Only when ADMIN_TOKEN is set' }],
    paths: {
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
            '413': error('Body larger than MAX_BODY_BYTES'),
            '415': error('Body is not JSON'),
            '422': error('Idempotency-Key already used with another body'),
          },
        },
        get: {
          operationId: 'listOrders',
          tags: ['orders'],
          summary: 'The latest orders, newest first',
          parameters: [query('limit', orderListQuerySchema.shape.limit, 'How many (1-100)')],
          responses: { '200': json('OrderList', 'The latest orders'), '400': error('Invalid limit, or an unknown parameter') },
        },
      },
      '/orders/{orderId}': {
        servers: [server('order')],
        get: {
          operationId: 'getOrder',
          tags: ['orders'],
          summary: 'An order: status and every event seen about it, in order',
          parameters: [{ name: 'orderId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { '200': json('Order', 'The order'), '404': error('No such order') },
        },
      },
      '/stock/{sku}': {
        servers: [server('inventory')],
        get: {
          operationId: 'getStock',
          tags: ['stock'],
          summary: 'Stock of one SKU',
          parameters: [{ name: 'sku', in: 'path', required: true, schema: jsonSchema(stockLevelSchema.shape.sku, 'draft-2020-12') }],
          responses: { '200': json('StockLevel', 'Available and reserved units'), '404': error('No such SKU') },
        },
      },
      '/notifications': {
        servers: [server('notification')],
        get: {
          operationId: 'listNotifications',
          tags: ['notifications'],
          summary: 'What a customer was told about an order',
          parameters: [{ name: 'orderId', in: 'query', required: true, schema: { type: 'string', format: 'uuid' } }],
          responses: { '200': json('NotificationList', 'The notifications, oldest first'), '400': error('orderId missing or not a UUID') },
        },
      },
      '/healthz': {
        get: { operationId: 'health', tags: ['operations'], summary: 'The process is up', responses: { '200': json('Health', 'Up') } },
      },
      '/readyz': {
        get: {
          operationId: 'readiness',
          tags: ['operations'],
          summary: 'Database, broker and every subscription consuming',
          responses: { '200': json('Readiness', 'Ready'), '503': json('Readiness', 'Not ready; checks say what is missing') },
        },
      },
      '/metrics': {
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
      '/admin/dlq/replay': {
        post: {
          ...admin,
          operationId: 'replayDeadLetters',
          summary: 'Send messages back to the queue they failed on',
          requestBody: { required: true, content: { 'application/json': { schema: ref('DeadLetterSelection') } } },
          responses: {
            '200': { description: 'What was replayed', content: { 'application/json': { schema: { type: 'object', properties: { replayed: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, queue: { type: 'string' } } } } } } } } },
            '400': error('Invalid selection'),
            ...adminErrors,
          },
        },
      },
      '/admin/dlq/purge': {
        post: {
          ...admin,
          operationId: 'purgeDeadLetters',
          summary: 'Delete messages from the dead-letter queue for good',
          requestBody: { required: true, content: { 'application/json': { schema: ref('DeadLetterSelection') } } },
          responses: {
            '200': { description: 'The ids purged', content: { 'application/json': { schema: { type: 'object', properties: { purged: { type: 'array', items: { type: 'string' } } } } } } },
            '400': error('Invalid selection'),
            ...adminErrors,
          },
        },
      },
      '/admin/faults': {
        servers: FAULTY,
        get: { ...admin, operationId: 'getFaults', summary: "This service's fault switches", responses: { '200': json('FaultFlags', 'Every switch'), '401': adminErrors['401'] } },
        put: {
          ...admin,
          operationId: 'setFaults',
          summary: 'Change some fault switches (the rest keep their value)',
          requestBody: { required: true, content: { 'application/json': { schema: ref('FaultChange') } } },
          responses: { '200': json('FaultFlags', 'Every switch, after the change'), '400': error('An unknown switch or a value out of range; details name it'), '401': adminErrors['401'] },
        },
      },
    },
    components: {
      schemas: Object.fromEntries((Object.keys(SCHEMAS) as SchemaName[]).map((name) => [name, jsonSchema(SCHEMAS[name][0], 'draft-2020-12', SCHEMAS[name][1])])),
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'ADMIN_TOKEN' } },
    },
  };
}
