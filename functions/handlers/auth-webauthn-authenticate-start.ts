import type { z } from 'zod';
import { startPasskeyAuthentication } from '../core/passkey-authentication.js';
import { endpoint, json } from '../http/endpoint.js';
import type { WebAuthnAuthenticateStartRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof WebAuthnAuthenticateStartRequest>>('auth-webauthn-authenticate-start', async ({ deps, client, body }) =>
  json(200, await startPasskeyAuthentication(deps, client, body)),
);
