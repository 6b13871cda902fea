import { deletePasskey } from '../core/passkey-registration.js';
import { endpoint, noContent } from '../http/endpoint.js';
import { WebAuthnCredentialParams } from '../http/schemas.js';

export const handler = endpoint('users-webauthn-credentials-delete', { params: WebAuthnCredentialParams }, async ({ deps, client, params }) => {
  await deletePasskey(deps, params.user_id, params.credential_id, client.client_id);
  return noContent();
});
