import { listAuthenticators } from '../core/authenticators.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-authenticators-list', { params: UserIdParams }, async ({ deps, params }) =>
  json(200, { result: await listAuthenticators(deps, params.user_id) }),
);
