/**
 * The local server the Transmit compatibility suites talk to, and the client
 * token they get from it the way Transmit's samples do (a form-encoded client
 * credentials call). Cheap password hashing: these suites are about the wire,
 * not the hash cost.
 */
import { inject } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { TEST_SCRYPT } from './harness.js';

export async function startCompatServer(): Promise<{ server: LocalServer; clientToken: string }> {
  const server = await startLocalServer({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `compat-${Date.now()}-${Math.random().toString(36).slice(2)}`,
    logger: jsonLogger('silent'),
    settings: { scrypt: TEST_SCRYPT },
  });
  // The samples' client credentials call: https://developer.transmitsecurity.com/guides/user/retrieve_client_tokens/
  const res = await fetch(`${server.url}/oidc/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'client_id=local-client&client_secret=local-secret&grant_type=client_credentials',
  });
  return { server, clientToken: ((await res.json()) as { access_token: string }).access_token };
}
