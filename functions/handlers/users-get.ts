import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-get', { params: UserIdParams }, async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'user_id', params.user_id) }),
);
