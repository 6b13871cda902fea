import { generateRecoveryCodes } from '../core/recovery-codes.js';
import { endpoint, json } from '../http/endpoint.js';

export const handler = endpoint('auth-recovery-codes-generate', async ({ deps, principal }) => json(201, await generateRecoveryCodes(deps, principal)));
