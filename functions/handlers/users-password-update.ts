import { replaceUserPassword } from '../core/user-passwords.js';
import { endpoint, json } from '../http/endpoint.js';
import { UpdatePasswordRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint(
  'users-password-update',
  { body: UpdatePasswordRequest, params: UserIdParams },
  async ({ deps, body, params }) => {
    await replaceUserPassword(deps, params.user_id, body);
    return json(200, { result: { message: 'Password registered' } });
  },
);
