import type { z } from 'zod';
import { gatewayChargeRequestSchema, gatewayEntrySchema, gatewayLedgerQuerySchema, gatewayLedgerSchema, gatewayRefundRequestSchema } from '../gateway';
import { idempotencyKeySchema } from '../http';
import { jsonSchema } from './json-schema';

/** The card gateway (services/gateway) in the OpenAPI document: its server, schemas and paths. */
export const GATEWAY_SERVER = { url: 'http://localhost:3004', description: 'the card gateway' };

export const GATEWAY_SCHEMAS = {
  GatewayChargeRequest: [gatewayChargeRequestSchema, 'input'],
  GatewayRefundRequest: [gatewayRefundRequestSchema, 'input'],
  GatewayEntry: [gatewayEntrySchema, 'output'],
  GatewayLedger: [gatewayLedgerSchema, 'output'],
} as const satisfies Record<string, readonly [z.ZodType, 'input' | 'output']>;

const ref = (name: keyof typeof GATEWAY_SCHEMAS | 'Error') => ({ $ref: `#/components/schemas/${name}` });
const json = (name: keyof typeof GATEWAY_SCHEMAS | 'Error', description: string) => ({ description, content: { 'application/json': { schema: ref(name) } } });

/** POST /charges and /refunds: each under the caller's key, answered alike. */
function moneyMoving(operationId: string, summary: string, body: keyof typeof GATEWAY_SCHEMAS, refused: string) {
  return {
    servers: [GATEWAY_SERVER],
    post: {
      operationId,
      tags: ['gateway'],
      summary,
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: true,
          description: 'One ledger entry per key: the same key and body again answers the first entry (Idempotent-Replayed: true) and moves no money; the same key with another body is 422',
          schema: jsonSchema(idempotencyKeySchema, 'draft-2020-12'),
        },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: ref(body) } } },
      responses: {
        '201': {
          ...json('GatewayEntry', 'The ledger entry (a declined charge is one too)'),
          headers: { 'Idempotent-Replayed': { description: '"true" when this is the entry an earlier request with the same key made', schema: { type: 'string', enum: ['true'] } } },
        },
        '400': json('Error', 'Invalid body or Idempotency-Key; details name the field'),
        '422': json('Error', `Idempotency-Key already used with another body, or ${refused}`),
        '503': { ...json('Error', 'Failed transiently (tok_flaky, the failure switch): nothing moved; try again with the same key'), headers: { 'Retry-After': { schema: { type: 'string' } } } },
      },
    },
  };
}

/** The gateway's paths; `operator`: the security and refusals of an operator's read (the ledger). */
export function gatewayPaths(operator: { security: Record<string, string[]>[]; errors: Record<string, unknown> }) {
  return {
    '/charges': moneyMoving('charge', 'Charge a card for an order', 'GatewayChargeRequest', 'nothing'),
    '/refunds': moneyMoving('refund', "Refund (part of) an order's approved charge", 'GatewayRefundRequest', 'no approved charge to refund, or more than is left of it'),
    '/ledger': {
      servers: [GATEWAY_SERVER],
      get: {
        operationId: 'gatewayLedger',
        tags: ['gateway'],
        summary: "Every charge and refund for an order, from the gateway's ledger: the merchant's record, an operator's view",
        security: operator.security,
        parameters: [{ name: 'orderId', in: 'query', required: true, schema: jsonSchema(gatewayLedgerQuerySchema.shape.orderId, 'draft-2020-12') }],
        responses: { '200': json('GatewayLedger', 'The entries, oldest first'), '400': json('Error', 'orderId missing or invalid'), ...operator.errors },
      },
    },
  };
}
