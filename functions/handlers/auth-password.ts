import { authenticatePassword } from '../core/password-auth.js';
import { endpoint, json } from '../http/endpoint.js';
import { PasswordAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-password', { body: PasswordAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticatePassword(deps, client, body)),
);
