import { updateUser } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UpdateUserRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof UpdateUserRequest>, Parsed<typeof UserIdParams>>(
  'users-update',
  async ({ deps, client, body, params }) => json(200, { result: await updateUser(deps, params.user_id, body, client.client_id) }),
);
