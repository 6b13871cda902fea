/**
 * Client settings reach live sessions: a session is judged by the stricter of
 * the limits it was created under and its client's current ones, on every
 * read (authenticate calls, refresh, user access tokens).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { updateClient } from '../../functions/core/clients.js';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  // Tokens outlive the hours these tests skip, so only the session's limits can refuse them.
  t.deps.settings = { ...t.deps.settings, tokenTtlSeconds: 30 * 86_400 };
  ({ client, token } = await createTestClient(t.deps));
  user = await seedUser(t.deps, { email: 'ada@example.com' });
});

async function works(session: { session_id: string; refresh_token: string; access_token: string }) {
  return {
    session: (await invoke(sessionAuthenticate, { token, body: { session_id: session.session_id } })).status,
    userToken: (await invoke(totpRegister, { token: session.access_token, body: {} })).status,
    refresh: (await invoke(refresh, { token, body: { refresh_token: session.refresh_token } })).status,
  };
}

describe('an operator shortens the session limits after an incident', () => {
  it('a shorter idle timeout ends an idle session created under the longer one', async () => {
    const session = await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(2 * 3600);
    await updateClient(t.deps.store, client.client_id, { session_idle_timeout_seconds: 3600 });
    expect(await works(session)).toEqual({ session: 400, userToken: 401, refresh: 400 });
  });

  it('a shorter absolute lifetime ends a session created under the longer one, however active', async () => {
    const session = await seedAuthentication(t.deps, client, user, 'pwd');
    for (let i = 0; i < 3; i++) {
      t.clock.advanceSeconds(3600);
      await invoke(sessionAuthenticate, { token, body: { session_id: session.session_id } });
    }
    await updateClient(t.deps.store, client.client_id, { session_absolute_lifetime_seconds: 2 * 3600 });
    expect(await works(session)).toEqual({ session: 400, userToken: 401, refresh: 400 });
  });

  it('a longer limit does not stretch a session created under a shorter one', async () => {
    client = await updateClient(t.deps.store, client.client_id, { session_idle_timeout_seconds: 3600 });
    const session = await seedAuthentication(t.deps, client, user, 'pwd');
    await updateClient(t.deps.store, client.client_id, { session_idle_timeout_seconds: 86_400 });
    t.clock.advanceSeconds(3601);
    expect(await works(session)).toEqual({ session: 400, userToken: 401, refresh: 400 });
  });

  it('a session within both limits works', async () => {
    const session = await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(1800);
    await updateClient(t.deps.store, client.client_id, { session_idle_timeout_seconds: 3600 });
    const result = await works(session);
    expect(result.session).toBe(200);
    expect(result.refresh).toBe(200);
    expect(result.userToken).not.toBe(401);
  });
});
