import { publicJson } from '../http/public-endpoint.js';
import { publicKeys } from '../public-settings.js';

// The public keys put in at deploy time (functions/published-keys.ts): no AWS call, no SDK in the bundle.
export const handler = publicJson('oidc-jwks', async () => ({ keys: await publicKeys() }));
