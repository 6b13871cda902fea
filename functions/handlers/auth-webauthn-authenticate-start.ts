import { startPasskeyAuthentication } from '../core/passkey-authentication.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, WebAuthnAuthenticateStartRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof WebAuthnAuthenticateStartRequest>>('auth-webauthn-authenticate-start', async ({ deps, client, body }) =>
  json(200, await startPasskeyAuthentication(deps, client, body)),
);
