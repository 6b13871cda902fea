import type { z } from 'zod';
import { setUserPassword } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { SetPasswordRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof SetPasswordRequest>, z.output<typeof UserIdParams>>(
  'users-set-password',
  async ({ deps, body, params }) => json(201, { result: await setUserPassword(deps, params.user_id, body.password) }),
);
