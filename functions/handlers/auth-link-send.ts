import { sendMagicLink } from '../core/magic-links.js';
import { endpoint, json } from '../http/endpoint.js';
import type { LinkSendRequest, Parsed } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof LinkSendRequest>>('auth-link-send', async ({ deps, client, body }) =>
  json(200, await sendMagicLink(deps, client, body)),
);
