import { authenticatePassword } from '../core/password-auth.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, PasswordAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof PasswordAuthenticateRequest>>('auth-password', async ({ deps, client, body }) =>
  json(200, await authenticatePassword(deps, client, body)),
);
