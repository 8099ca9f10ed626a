// The request contracts live with the others in @troupe/contracts (the OpenAPI document is
// generated from them); the routes import them from here.
export { idempotencyKeySchema, orderListQuerySchema as listQuerySchema, orderRequestSchema, type OrderRequest } from '@troupe/contracts';
