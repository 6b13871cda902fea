import { finishPasskeyRegistration } from '../core/passkey-registration.js';
import { endpoint, json } from '../http/endpoint.js';
import { WebAuthnRegisterRequest } from '../http/schemas.js';

export const handler = endpoint('auth-webauthn-register', { body: WebAuthnRegisterRequest }, async ({ deps, principal, body }) =>
  json(201, await finishPasskeyRegistration(deps, principal, body.webauthn_encoded_result, body.client_attributes)),
);
