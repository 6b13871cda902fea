import type { z } from 'zod';
import { createUser } from '../core/users.js';
import { endpoint, json } from '../http/endpoint.js';
import type { CreateUserRequest } from '../http/schemas.js';

export const handler = endpoint<z.output<typeof CreateUserRequest>>('users-create', async ({ deps, body }) =>
  json(201, { result: await createUser(deps, body) }),
);
