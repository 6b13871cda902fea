import { createUser } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import { CreateUserRequest } from '../http/schemas.js';

export const handler = endpoint('users-create', { body: CreateUserRequest }, async ({ deps, body }) =>
  json(201, { result: await createUser(deps, body) }),
);
