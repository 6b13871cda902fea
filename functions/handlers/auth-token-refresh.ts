import { refreshSession } from '../core/sessions.js';
import { endpoint, json } from '../http/endpoint.js';
import { RefreshRequest } from '../http/schemas.js';

export const handler = endpoint('auth-token-refresh', { body: RefreshRequest }, async ({ deps, client, body }) =>
  json(200, await refreshSession(deps, client, body.refresh_token, body.client_attributes)),
);
