import type { z } from 'zod';
import { logoutSession } from '../core/sessions.js';
import { endpoint, noContent } from '../http/endpoint.js';
import type { LogoutRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof LogoutRequest>>('auth-logout', async ({ deps, client, body }) => {
  await logoutSession(deps, client, body.session_id, body.client_attributes);
  return noContent();
});
