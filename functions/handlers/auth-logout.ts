import { logoutSession } from '../core/sessions.js';
import { endpoint, noContent } from '../http/endpoint.js';
import { LogoutRequest } from '../http/schemas.js';

export const handler = endpoint('auth-logout', { body: LogoutRequest }, async ({ deps, client, body }) => {
  await logoutSession(deps, client, body.session_id, body.client_attributes);
  return noContent();
});
