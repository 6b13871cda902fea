import type { z } from 'zod';
import { createUserPassword } from '../core/user-passwords.js';
import { endpoint, json } from '../http/endpoint.js';
import type { CreatePasswordRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof CreatePasswordRequest>, z.output<typeof UserIdParams>>(
  'users-password-create',
  async ({ deps, body, params }) => {
    await createUserPassword(deps, params.user_id, body);
    return json(201, { result: { message: 'Password registered' } });
  },
);
