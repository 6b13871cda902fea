import type { z } from 'zod';
import { registerTotp } from '../core/totp.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UserIdParams } from '../http/schemas.js';

export const handler = endpoint<undefined, z.output<typeof UserIdParams>>('users-totp-register', async ({ deps, params }) =>
  json(200, await registerTotp(deps, params.user_id)),
);
