import { authenticateSession } from '../core/sessions.js';
import { endpoint, json } from '../http/endpoint.js';
import { SessionAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-session', { body: SessionAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticateSession(deps, client, body.session_id, body.client_attributes, { maxAge: body.max_age, claims: body.claims })),
);
