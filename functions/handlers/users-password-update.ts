import type { z } from 'zod';
import { replaceUserPassword } from '../core/user-passwords.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UpdatePasswordRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof UpdatePasswordRequest>, z.output<typeof UserIdParams>>(
  'users-password-update',
  async ({ deps, body, params }) => {
    await replaceUserPassword(deps, params.user_id, body);
    return json(200, { result: { message: 'Password registered' } });
  },
);
