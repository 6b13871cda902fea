import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof UserIdParams>>('users-get', async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'user_id', params.user_id) }),
);
