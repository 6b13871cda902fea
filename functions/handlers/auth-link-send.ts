import { sendMagicLink } from '../core/magic-links.js';
import { endpoint, json } from '../http/endpoint.js';
import { LinkSendRequest } from '../http/schemas.js';

export const handler = endpoint('auth-link-send', { body: LinkSendRequest }, async ({ deps, client, body }) =>
  json(200, await sendMagicLink(deps, client, body)),
);
