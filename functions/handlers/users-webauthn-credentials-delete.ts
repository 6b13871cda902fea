import type { z } from 'zod';
import { deletePasskey } from '../core/passkey-registration.js';
import { endpoint, noContent } from '../http/endpoint.js';
import type { WebAuthnCredentialParams } from '../http/schemas.js';

export const handler = endpoint<undefined, z.output<typeof WebAuthnCredentialParams>>('users-webauthn-credentials-delete', async ({ deps, params }) => {
  await deletePasskey(deps, params.user_id, params.credential_id);
  return noContent();
});
