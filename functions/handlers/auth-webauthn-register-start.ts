import { startPasskeyRegistration } from '../core/passkey-registration.js';
import { endpoint, json } from '../http/endpoint.js';
import { WebAuthnRegisterStartRequest } from '../http/schemas.js';

export const handler = endpoint('auth-webauthn-register-start', { body: WebAuthnRegisterStartRequest }, async ({ deps, principal, body }) =>
  json(200, await startPasskeyRegistration(deps, principal, body)),
);
