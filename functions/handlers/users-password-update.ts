import { replaceUserPassword } from '../core/user-passwords.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UpdatePasswordRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof UpdatePasswordRequest>, Parsed<typeof UserIdParams>>(
  'users-password-update',
  async ({ deps, body, params }) => {
    await replaceUserPassword(deps, params.user_id, body);
    return json(200, { result: { message: 'Password registered' } });
  },
);
