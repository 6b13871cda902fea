import type { z } from 'zod';
import { authenticatePasskey } from '../core/passkey-authentication.js';
import { endpoint, json } from '../http/endpoint.js';
import type { WebAuthnAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof WebAuthnAuthenticateRequest>>('auth-webauthn-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticatePasskey(deps, client, body)),
);
