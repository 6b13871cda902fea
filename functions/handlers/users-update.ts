import type { z } from 'zod';
import { updateUser } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UpdateUserRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof UpdateUserRequest>, z.output<typeof UserIdParams>>(
  'users-update',
  async ({ deps, client, body, params }) => json(200, { result: await updateUser(deps, params.user_id, body, client.client_id) }),
);
