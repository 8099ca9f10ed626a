export { asyncApiDocument } from './asyncapi';
export { openApiDocument, WEB_ASSETS } from './openapi';
