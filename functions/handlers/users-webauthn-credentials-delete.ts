import { deletePasskey } from '../core/passkey-registration.js';
import { endpoint, noContent } from '../http/endpoint.js';
import type { Parsed, WebAuthnCredentialParams } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof WebAuthnCredentialParams>>('users-webauthn-credentials-delete', async ({ deps, params }) => {
  await deletePasskey(deps, params.user_id, params.credential_id);
  return noContent();
});
