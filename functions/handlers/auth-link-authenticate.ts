import type { z } from 'zod';
import { authenticateMagicLink } from '../core/magic-links.js';
import { endpoint, json } from '../http/endpoint.js';
import type { LinkAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof LinkAuthenticateRequest>>('auth-link-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateMagicLink(deps, client, body)),
);
