import { deleteUser } from '../core/users.js';
import { endpoint, noContent } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-delete', { params: UserIdParams }, async ({ deps, client, params }) => {
  await deleteUser(deps, params.user_id, client.client_id);
  return noContent();
});
