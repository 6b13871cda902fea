import type { z } from 'zod';
import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { UsernameParams } from '../http/schemas.js';

export const handler = endpoint<undefined, z.output<typeof UsernameParams>>('users-get-by-username', async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'username', params.username) }),
);
