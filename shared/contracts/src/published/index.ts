export { asyncApiDocument, EXTENSION as ASYNCAPI_EXTENSION } from './asyncapi';
export { openApiDocument, WEB_ASSETS } from './openapi';
