import { createUserPassword } from '../core/user-passwords.js';
import { endpoint, json } from '../http/endpoint.js';
import { CreatePasswordRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint(
  'users-password-create',
  { body: CreatePasswordRequest, params: UserIdParams },
  async ({ deps, body, params }) => {
    await createUserPassword(deps, params.user_id, body);
    return json(201, { result: { message: 'Password registered' } });
  },
);
