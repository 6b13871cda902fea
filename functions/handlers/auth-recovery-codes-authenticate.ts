import { authenticateRecoveryCode } from '../core/recovery-codes.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, RecoveryCodeAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof RecoveryCodeAuthenticateRequest>>('auth-recovery-codes-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateRecoveryCode(deps, client, body)),
);
