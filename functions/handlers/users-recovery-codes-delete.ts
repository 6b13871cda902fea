import { removeRecoveryCodes } from '../core/factor-removal.js';
import { endpoint, noContent } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-recovery-codes-delete', { params: UserIdParams }, async ({ deps, client, params }) => {
  await removeRecoveryCodes(deps, params.user_id, client.client_id);
  return noContent();
});
