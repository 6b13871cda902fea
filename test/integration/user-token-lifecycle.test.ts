/**
 * A user access token works on every user-token route while its session
 * lives, and on none the moment the session ends: logout, refresh-token
 * reuse, a disabled user, a replaced password. Each ending goes through the
 * real handler that causes it, and every user-token route of the route table
 * is then called with the token through its own handler. The token is an
 * HMAC under the service's user-token key (no KMS): its MAC stays valid
 * after the session ends, so only the session read on every call stops it.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as usersCreate } from '../../functions/handlers/users-create.js';
import { handler as passwordUpdate } from '../../functions/handlers/users-password-update.js';
import { handler as usersUpdate } from '../../functions/handlers/users-update.js';
import { routes } from '../../functions/routes.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';

const userRoutes = routes.filter((route) => route.auth === 'user');
const PASSWORD = 'correct horse battery staple';

let t: TestContext;
let clientToken: string;
let userId: string;

type Handler = Parameters<typeof invoke>[0];
const handlerOf = async (name: string) => ((await import(`../../functions/handlers/${name}.ts`)) as { handler: Handler }).handler;

/** Each user-token route's status for this bearer token. */
async function statusesWith(accessToken: string): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (const route of userRoutes) statuses[route.name] = (await invoke(await handlerOf(route.name), { token: accessToken, body: {} })).status;
  return statuses;
}

async function login() {
  const res = await invoke(passwordAuthenticate, { token: clientToken, body: { username: 'ada@example.com', username_type: 'email', password: PASSWORD } });
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string; session_id: string };
}

const everyRoute = (status: number) => Object.fromEntries(userRoutes.map((route) => [route.name, status]));

beforeEach(async () => {
  t = await createTestDeps();
  ({ token: clientToken } = await createTestClient(t.deps));
  const created = await invoke(usersCreate, { token: clientToken, body: { email: 'ada@example.com', credentials: { password: PASSWORD } } });
  userId = created.body.result.user_id;
});

describe('a user access token on every user-token route', () => {
  it('is accepted by each while its session lives', async () => {
    expect(userRoutes.length).toBeGreaterThanOrEqual(4);
    const tokens = await login();
    // Each route judges the (empty) request itself: a 2xx or a 4xx of its own, never 401, never a 5xx.
    for (const [route, status] of Object.entries(await statusesWith(tokens.access_token))) {
      expect(status, route).not.toBe(401);
      expect(status, route).toBeLessThan(500);
    }
  });

  it('stops on each at logout', async () => {
    const tokens = await login();
    expect((await invoke(logout, { token: clientToken, body: { session_id: tokens.session_id } })).status).toBe(204);
    expect(await statusesWith(tokens.access_token)).toEqual(everyRoute(401));
  });

  it('stops on each when a rotated refresh token is used again (reuse ends the session), the new access token too', async () => {
    const tokens = await login();
    const rotated = await invoke(refresh, { token: clientToken, body: { refresh_token: tokens.refresh_token } });
    expect(rotated.status).toBe(200);
    expect((await invoke(refresh, { token: clientToken, body: { refresh_token: tokens.refresh_token } })).status).toBe(400);
    expect(await statusesWith(tokens.access_token)).toEqual(everyRoute(401));
    expect(await statusesWith(rotated.body.access_token)).toEqual(everyRoute(401));
  });

  it('stops on each when the user is disabled', async () => {
    const tokens = await login();
    expect((await invoke(usersUpdate, { token: clientToken, params: { user_id: userId }, body: { status: 'Disabled' } })).status).toBe(200);
    expect(await statusesWith(tokens.access_token)).toEqual(everyRoute(401));
  });

  it('stops on each when the password is replaced', async () => {
    const tokens = await login();
    t.clock.advanceSeconds(1);
    const replaced = await invoke(passwordUpdate, { token: clientToken, params: { user_id: userId }, body: { password: 'another long passphrase' } });
    expect(replaced.status).toBe(200);
    expect(await statusesWith(tokens.access_token)).toEqual(everyRoute(401));
  });
});
