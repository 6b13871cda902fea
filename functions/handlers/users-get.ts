import type { z } from 'zod';
import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UserIdParams } from '../http/schemas.js';

export const handler = endpoint<undefined, z.output<typeof UserIdParams>>('users-get', async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'user_id', params.user_id) }),
);
