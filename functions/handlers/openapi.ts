import { endpoint, json } from '../http/endpoint.js';
import { buildOpenApiDocument } from '../http/openapi.js';

export const handler = endpoint('openapi', async ({ deps }) =>
  json(200, buildOpenApiDocument(deps.settings.issuer), { 'Cache-Control': 'public, max-age=300' }),
);
