import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { EmailParams, Parsed } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof EmailParams>>('users-get-by-email', async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'email', params.email) }),
);
