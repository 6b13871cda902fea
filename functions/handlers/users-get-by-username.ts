import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UsernameParams } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof UsernameParams>>('users-get-by-username', async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'username', params.username) }),
);
