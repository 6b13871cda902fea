import { authenticatePasskey } from '../core/passkey-authentication.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, WebAuthnAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof WebAuthnAuthenticateRequest>>('auth-webauthn-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticatePasskey(deps, client, body)),
);
