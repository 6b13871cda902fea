import { authenticateMagicLink } from '../core/magic-links.js';
import { endpoint, json } from '../http/endpoint.js';
import type { LinkAuthenticateRequest, Parsed } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof LinkAuthenticateRequest>>('auth-link-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateMagicLink(deps, client, body)),
);
