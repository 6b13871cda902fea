import { refreshSession } from '../core/sessions.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, RefreshRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof RefreshRequest>>('auth-token-refresh', async ({ deps, client, body }) =>
  json(200, await refreshSession(deps, client, body.refresh_token, body.client_attributes)),
);
