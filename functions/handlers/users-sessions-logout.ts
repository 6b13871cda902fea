import { logoutUserSessions } from '../core/user-sessions.js';
import { endpoint, noContent } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-sessions-logout', { params: UserIdParams }, async ({ deps, client, params }) => {
  await logoutUserSessions(deps, client, params.user_id);
  return noContent();
});
