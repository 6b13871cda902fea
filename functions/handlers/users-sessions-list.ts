import { listUserSessions } from '../core/user-sessions.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-sessions-list', { params: UserIdParams }, async ({ deps, client, params }) =>
  json(200, { result: await listUserSessions(deps, client, params.user_id) }),
);
