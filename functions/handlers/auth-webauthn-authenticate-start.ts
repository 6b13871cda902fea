import { startPasskeyAuthentication } from '../core/passkey-authentication.js';
import { endpoint, json } from '../http/endpoint.js';
import { WebAuthnAuthenticateStartRequest } from '../http/schemas.js';

export const handler = endpoint('auth-webauthn-authenticate-start', { body: WebAuthnAuthenticateStartRequest }, async ({ deps, client, body }) =>
  json(200, await startPasskeyAuthentication(deps, client, body)),
);
