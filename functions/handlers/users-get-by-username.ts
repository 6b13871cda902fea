import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import { UsernameParams } from '../http/schemas.js';

export const handler = endpoint('users-get-by-username', { params: UsernameParams }, async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'username', params.username) }),
);
