import { revokeTotp } from '../core/factor-removal.js';
import { endpoint, noContent } from '../http/endpoint.js';
import { TotpRevokeRequest, UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-totp-revoke', { body: TotpRevokeRequest, params: UserIdParams }, async ({ deps, client, params, body }) => {
  await revokeTotp(deps, params.user_id, body.authenticator_id, client.client_id);
  return noContent();
});
