import { startPasskeyRegistration } from '../core/passkey-registration.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, WebAuthnRegisterStartRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof WebAuthnRegisterStartRequest>>('auth-webauthn-register-start', async ({ deps, principal, body }) =>
  json(200, await startPasskeyRegistration(deps, principal, body)),
);
