import { logoutSession } from '../core/sessions.js';
import { endpoint, noContent } from '../http/endpoint.js';
import type { LogoutRequest, Parsed } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof LogoutRequest>>('auth-logout', async ({ deps, client, body }) => {
  await logoutSession(deps, client, body.session_id, body.client_attributes);
  return noContent();
});
