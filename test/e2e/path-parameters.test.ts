/**
 * Path parameters are percent-decoded exactly once, by API Gateway (HTTP
 * API) in AWS and by the local server locally, never again by the handler:
 * `%2561dmin` names the user `%61dmin`, never `admin`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { issueClientToken } from '../../functions/core/tokens.js';
import { getClient } from '../../functions/core/clients.js';
import { handler as getByUsername } from '../../functions/handlers/users-get-by-username.js';
import { handler as getUser } from '../../functions/handlers/users-get.js';
import { invoke } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

let server: LocalServer;
let token: string;

beforeAll(async () => {
  server = await startLocalServer({ port: 0, dynamoEndpoint: inject('dynamoEndpoint'), tableName: `path-${Date.now()}`, logger: jsonLogger('silent') });
  token = (await issueClientToken(server.deps, (await getClient(server.deps, 'local-client'))!)).access_token;
  await seedUser(server.deps, { user_id: 'admin', username: 'admin', email: 'admin@example.com' });
});

afterAll(async () => {
  await server?.close();
});

const get = (path: string) => fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('the handler takes path parameters as API Gateway delivers them (already decoded)', () => {
  it('does not decode them a second time', async () => {
    expect((await invoke(getByUsername, { token, params: { username: '%61dmin' } })).body.error_code).toBe('user_not_found');
    expect((await invoke(getUser, { token, params: { user_id: '%61dmin' } })).body.error_code).toBe('user_not_found');
    expect((await invoke(getByUsername, { token, params: { username: 'admin' } })).status).toBe(200);
  });
});

describe('the local server decodes the path once, as API Gateway does', () => {
  it('%61dmin is admin (one decoding)', async () => {
    expect((await get('/cis/v1/users/username/%61dmin')).status).toBe(200);
    expect((await get('/cis/v1/users/%61dmin')).status).toBe(200);
  });

  it('%2561dmin is never admin', async () => {
    for (const path of ['/cis/v1/users/username/%2561dmin', '/cis/v1/users/%2561dmin', '/cis/v1/users/username/%252561dmin']) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      expect(((await res.json()) as { error_code: string }).error_code).toBe('user_not_found');
    }
  });

  it('an encoded slash splits the path as a slash would, and malformed escapes are bad input', async () => {
    expect((await get('/cis/v1/users/username/ad%2Fmin')).status).toBe(404);
    const malformed = await get('/cis/v1/users/username/%E0%A4%A');
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error_code: string }).error_code).toBe('system_invalid_input');
  });
});
