import { authenticateMagicLink } from '../core/magic-links.js';
import { endpoint, json } from '../http/endpoint.js';
import { LinkAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-link-authenticate', { body: LinkAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticateMagicLink(deps, client, body)),
);
