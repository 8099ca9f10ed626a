export { asyncApiDocument } from './asyncapi';
export { openApiDocument } from './openapi';
