import { listPasskeys } from '../core/passkey-registration.js';
import { endpoint, json } from '../http/endpoint.js';
import type { Parsed, UserIdParams } from '../http/schemas.js';

export const handler = endpoint<undefined, Parsed<typeof UserIdParams>>('users-webauthn-credentials-list', async ({ deps, params }) =>
  json(200, await listPasskeys(deps, params.user_id)),
);
