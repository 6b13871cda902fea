import { generateRecoveryCodes } from '../core/recovery-codes.js';
import { endpoint, json } from '../http/endpoint.js';
import { RecoveryCodesGenerateRequest } from '../http/schemas.js';

export const handler = endpoint('auth-recovery-codes-generate', { body: RecoveryCodesGenerateRequest }, async ({ deps, principal, body }) =>
  json(201, await generateRecoveryCodes(deps, principal, body.client_attributes)),
);
