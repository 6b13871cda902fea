import { authenticatePasskey } from '../core/passkey-authentication.js';
import { endpoint, json } from '../http/endpoint.js';
import { WebAuthnAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-webauthn-authenticate', { body: WebAuthnAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticatePasskey(deps, client, body)),
);
