import type { z } from 'zod';
import { authenticatePassword } from '../core/password-auth.js';
import { endpoint, json } from '../http/endpoint.js';
import type { PasswordAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof PasswordAuthenticateRequest>>('auth-password', async ({ deps, client, body }) =>
  json(200, await authenticatePassword(deps, client, body)),
);
