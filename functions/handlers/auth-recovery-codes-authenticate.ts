import { authenticateRecoveryCode } from '../core/recovery-codes.js';
import { endpoint, json } from '../http/endpoint.js';
import { RecoveryCodeAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-recovery-codes-authenticate', { body: RecoveryCodeAuthenticateRequest }, async ({ deps, client, body }) =>
  json(200, await authenticateRecoveryCode(deps, client, body)),
);
