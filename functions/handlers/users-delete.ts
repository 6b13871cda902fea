import type { z } from 'zod';
import { deleteUser } from '../core/users.js';
import { endpoint, noContent } from '../http/endpoint.js';
import type { UserIdParams } from '../http/schemas.js';

export const handler = endpoint<undefined, z.output<typeof UserIdParams>>('users-delete', async ({ deps, client, params }) => {
  await deleteUser(deps, params.user_id, client.client_id);
  return noContent();
});
