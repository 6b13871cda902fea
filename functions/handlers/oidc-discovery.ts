import { discoveryDocument } from '../core/discovery.js';
import { endpoint, json } from '../http/endpoint.js';

export const handler = endpoint('oidc-discovery', async ({ deps }) =>
  json(200, discoveryDocument(deps.settings), { 'Cache-Control': 'public, max-age=300' }),
);
