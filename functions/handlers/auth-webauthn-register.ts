import type { z } from 'zod';
import { finishPasskeyRegistration } from '../core/passkey-registration.js';
import { endpoint, json } from '../http/endpoint.js';
import type { WebAuthnRegisterRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof WebAuthnRegisterRequest>>('auth-webauthn-register', async ({ deps, principal, body }) =>
  json(201, await finishPasskeyRegistration(deps, principal, body.webauthn_encoded_result)),
);
