import { createUser } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { CreateUserRequest, Parsed } from '../http/schemas.js';

export const handler = endpoint<Parsed<typeof CreateUserRequest>>('users-create', async ({ deps, body }) =>
  json(201, { result: await createUser(deps, body) }),
);
