import type { z } from 'zod';
import { authenticateRecoveryCode } from '../core/recovery-codes.js';
import { endpoint, json } from '../http/endpoint.js';
import type { RecoveryCodeAuthenticateRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof RecoveryCodeAuthenticateRequest>>('auth-recovery-codes-authenticate', async ({ deps, client, body }) =>
  json(200, await authenticateRecoveryCode(deps, client, body)),
);
