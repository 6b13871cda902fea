import { endpoint, json } from '../http/endpoint.js';

export const handler = endpoint('oidc-jwks', async ({ deps }) =>
  json(200, { keys: await deps.signer.publicKeys() }, { 'Cache-Control': 'public, max-age=300' }),
);
