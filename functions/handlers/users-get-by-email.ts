import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import { EmailParams } from '../http/schemas.js';

export const handler = endpoint('users-get-by-email', { params: EmailParams }, async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'email', params.email) }),
);
