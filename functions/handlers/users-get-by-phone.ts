import { getUserView } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, PhoneNumberParams } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof PhoneNumberParams>>('users-get-by-phone', async ({ deps, params }) =>
  json(200, { result: await getUserView(deps, 'phone_number', params.phone_number) }),
);
