import { createUserPassword } from '../core/user-passwords.js';
import { endpoint, json } from '../http/endpoint.js';
import type { CreatePasswordRequest, Parsed, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof CreatePasswordRequest>, Parsed<typeof UserIdParams>>(
  'users-password-create',
  async ({ deps, body, params }) => {
    await createUserPassword(deps, params.user_id, body);
    return json(201, { result: { message: 'Password registered' } });
  },
);
