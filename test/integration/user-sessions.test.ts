/**
 * An operator takes a user's sessions back: logout of every session of the
 * user at every client without disabling them, and a listing of the calling
 * client's live sessions of the user. Both audited.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as listSessions } from '../../functions/handlers/users-sessions-list.js';
import { handler as logoutAll } from '../../functions/handlers/users-sessions-logout.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

let t: TestContext;
let client: ClientRecord;
let token: string;
let other: { client: ClientRecord; token: string };
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  // Tokens outlive the day one test skips, so only the sessions' limits decide.
  t.deps.settings = { ...t.deps.settings, tokenTtlSeconds: 30 * 86_400 };
  ({ client, token } = await createTestClient(t.deps));
  other = await createTestClient(t.deps, { name: 'other client' });
  user = await seedUser(t.deps, { email: 'ada@example.com' });
});

const audits = (event: string) => t.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.event === event);
const works = async (session: { session_id: string; refresh_token: string }, as = token) =>
  (await invoke(sessionAuthenticate, { token: as, body: { session_id: session.session_id } })).status === 200;

describe('POST /cis/v1/users/{user_id}/sessions/logout', () => {
  it('ends every session of the user at every client, and the user can log in again at once', async () => {
    const here = await seedAuthentication(t.deps, client, user, 'pwd');
    const there = await seedAuthentication(t.deps, other.client, user, 'eotp');
    const bystander = await seedAuthentication(t.deps, client, await seedUser(t.deps, { email: 'grace@example.com' }), 'pwd');
    const res = await invoke(logoutAll, { token, params: { user_id: user.user_id } });
    expect(res.status).toBe(204);
    expect(await works(here)).toBe(false);
    expect(await works(there, other.token)).toBe(false);
    expect((await invoke(refresh, { token, body: { refresh_token: here.refresh_token } })).body.error_code).toBe('invalid_grant');
    expect(await works(bystander)).toBe(true);
    expect((await t.store.get<UserRecord>(keys.user(user.user_id)))!.value.status).toBe('Active');
    expect(await works(await seedAuthentication(t.deps, client, (await t.store.get<UserRecord>(keys.user(user.user_id)))!.value, 'pwd'))).toBe(true);
  });

  it('404 user_not_found for an unknown user', async () => {
    const res = await invoke(logoutAll, { token, params: { user_id: 'nobody' } });
    expect(res).toMatchObject({ status: 404, body: { error_code: 'user_not_found' } });
  });

  it('is audited', async () => {
    await invoke(logoutAll, { token, params: { user_id: user.user_id } });
    expect(audits('logout')).toContainEqual(expect.objectContaining({ user_id: user.user_id, client_id: client.client_id, method: 'all_sessions', outcome: 'success' }));
  });
});

describe('GET /cis/v1/users/{user_id}/sessions', () => {
  it("lists the calling client's live sessions of the user, with when, where and how", async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: { ip_address: '203.0.113.7' } });
    t.clock.advanceSeconds(60);
    await seedAuthentication(t.deps, client, user, 'sms', { sessionId: first.session_id, clientAttributes: { ip_address: '203.0.113.7' } });
    t.clock.advanceSeconds(60);
    const second = await seedAuthentication(t.deps, client, user, 'eotp');
    const ended = await seedAuthentication(t.deps, client, user, 'pwd');
    await invoke(logout, { token, body: { session_id: ended.session_id } });
    await seedAuthentication(t.deps, other.client, user, 'pwd');
    await seedAuthentication(t.deps, client, await seedUser(t.deps, { email: 'grace@example.com' }), 'pwd');

    const res = await invoke(listSessions, { token, params: { user_id: user.user_id } });
    expect(res.status).toBe(200);
    const start = t.clock.now() - 120_000;
    expect(res.body.result).toEqual([
      { session_id: second.session_id, created_at: start + 120_000, last_used_at: start + 120_000, amr: ['eotp'], amr_at: { eotp: Math.floor((start + 120_000) / 1000) } },
      {
        session_id: first.session_id,
        created_at: start,
        last_used_at: start + 60_000,
        ip_address: '203.0.113.7',
        amr: ['pwd', 'sms', 'mfa'],
        amr_at: { pwd: Math.floor(start / 1000), sms: Math.floor((start + 60_000) / 1000) },
      },
    ]);
  });

  it('leaves out expired sessions and those of a user whose sessions were logged out', async () => {
    await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(86_400);
    expect((await invoke(listSessions, { token, params: { user_id: user.user_id } })).body.result).toEqual([]);
    const fresh = await seedAuthentication(t.deps, client, (await t.store.get<UserRecord>(keys.user(user.user_id)))!.value, 'pwd');
    expect((await invoke(listSessions, { token, params: { user_id: user.user_id } })).body.result.map((s: { session_id: string }) => s.session_id)).toEqual([fresh.session_id]);
    await invoke(logoutAll, { token, params: { user_id: user.user_id } });
    expect((await invoke(listSessions, { token, params: { user_id: user.user_id } })).body.result).toEqual([]);
  });

  it('404 user_not_found for an unknown user; audited when listed', async () => {
    expect(await invoke(listSessions, { token, params: { user_id: 'nobody' } })).toMatchObject({ status: 404, body: { error_code: 'user_not_found' } });
    await invoke(listSessions, { token, params: { user_id: user.user_id } });
    expect(audits('sessions_listed')).toContainEqual(expect.objectContaining({ user_id: user.user_id, client_id: client.client_id, outcome: 'success' }));
  });
});
