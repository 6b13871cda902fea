import { updateUser } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import { UpdateUserRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint(
  'users-update',
  { body: UpdateUserRequest, params: UserIdParams },
  async ({ deps, client, body, params }) => json(200, { result: await updateUser(deps, params.user_id, body, client.client_id) }),
);
