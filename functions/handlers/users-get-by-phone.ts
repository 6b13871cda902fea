import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import { PhoneNumberParams } from '../http/schemas.js';

export const handler = endpoint('users-get-by-phone', { params: PhoneNumberParams }, async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'phone_number', params.phone_number) }),
);
