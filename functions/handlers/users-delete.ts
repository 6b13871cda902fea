import { deleteUser } from '../core/users.js';
import { endpoint, noContent } from '../http/endpoint.js';
import type { Parsed, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof UserIdParams>>('users-delete', async ({ deps, client, params }) => {
  await deleteUser(deps, params.user_id, client.client_id);
  return noContent();
});
