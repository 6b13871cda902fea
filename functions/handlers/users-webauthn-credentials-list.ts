import { listPasskeys } from '../core/passkey-registration.js';
import { endpoint, json } from '../http/endpoint.js';
import { UserIdParams } from '../http/schemas.js';

export const handler = endpoint('users-webauthn-credentials-list', { params: UserIdParams }, async ({ deps, params }) =>
  json(200, await listPasskeys(deps, params.user_id)),
);
