/**
 * Refresh and logout under attack: IP binding applies to them exactly as to
 * every authenticate call, and refresh-token reuse is detected strictly by
 * default (a client may set a short grace for double submits).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { createTestClient, createTestDeps, invoke, slowSigning, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

const HOME = { ip_address: '203.0.113.7' };
const ELSEWHERE = { ip_address: '198.51.100.9' };

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  user = await seedUser(t.deps, { email: 'ada@example.com', phone_number: '+15551234567' });
});

const stored = async (sessionId: string) => (await t.store.get<SessionRecord>(keys.session(sessionId)))!;
const refreshWith = (refresh_token: string, client_attributes?: Record<string, string>, as = token) =>
  invoke(refresh, { token: as, body: { refresh_token, ...(client_attributes && { client_attributes }) } });
const logoutWith = (session_id: string, client_attributes?: Record<string, string>) =>
  invoke(logout, { token, body: { session_id, ...(client_attributes && { client_attributes }) } });
const sessionLives = async (sessionId: string, attributes = HOME) =>
  (await invoke(sessionAuthenticate, { token, body: { session_id: sessionId, client_attributes: attributes } })).status === 200;

describe('refresh of a session bound to an IP', () => {
  it('from another IP: 403 session_binding_mismatch, no tokens, nothing rotated', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    const before = await stored(first.session_id);
    const res = await refreshWith(first.refresh_token, ELSEWHERE);
    expect(res).toMatchObject({ status: 403, body: { error_code: 'session_binding_mismatch' } });
    expect(res.body).not.toHaveProperty('access_token');
    expect(await stored(first.session_id)).toEqual(before);
    // The token still works from the right IP.
    expect((await refreshWith(first.refresh_token, HOME)).status).toBe(200);
  });

  it('without an IP: refused the same way', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    const before = await stored(first.session_id);
    expect((await refreshWith(first.refresh_token)).body.error_code).toBe('session_binding_mismatch');
    expect((await refreshWith(first.refresh_token, { user_agent: 'x' })).body.error_code).toBe('session_binding_mismatch');
    expect(await stored(first.session_id)).toEqual(before);
  });

  it('from the bound IP: new tokens', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    const res = await refreshWith(first.refresh_token, HOME);
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toEqual(expect.any(String));
  });

  it('a rotated token replayed from another IP ends nothing; replayed from the bound IP it is reuse', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    const rotated = await refreshWith(first.refresh_token, HOME);
    const before = await stored(first.session_id);
    expect((await refreshWith(first.refresh_token, ELSEWHERE)).body.error_code).toBe('session_binding_mismatch');
    expect(await stored(first.session_id)).toEqual(before);
    expect(await sessionLives(first.session_id)).toBe(true);
    expect((await refreshWith(first.refresh_token, HOME)).body.error_code).toBe('invalid_grant');
    expect((await stored(first.session_id)).value.end_reason).toBe('refresh_token_reuse');
    expect((await refreshWith(rotated.body.refresh_token, HOME)).body.error_code).toBe('invalid_grant');
  });

  it('a forged token from another IP is invalid_grant: the binding is shown only to holders of a real token', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    expect((await refreshWith(`${first.session_id}.forged`, ELSEWHERE)).body.error_code).toBe('invalid_grant');
  });

  it('an unbound session refreshes from any IP, or none', async () => {
    const unbound = await seedAuthentication(t.deps, client, user, 'pwd');
    const a = await refreshWith(unbound.refresh_token, ELSEWHERE);
    expect(a.status).toBe(200);
    expect((await refreshWith(a.body.refresh_token)).status).toBe(200);
    const loose = await createTestClient(t.deps, { name: 'loose', bind_sessions_to_ip: false });
    const session = await seedAuthentication(t.deps, loose.client, user, 'pwd', { clientAttributes: HOME });
    expect((await refreshWith(session.refresh_token, ELSEWHERE, loose.token)).status).toBe(200);
  });
});

describe('logout of a session bound to an IP', () => {
  it('from another IP or without one: 403 session_binding_mismatch, and the session lives on', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    expect((await logoutWith(first.session_id, ELSEWHERE))).toMatchObject({ status: 403, body: { error_code: 'session_binding_mismatch' } });
    expect((await logoutWith(first.session_id)).body.error_code).toBe('session_binding_mismatch');
    expect(await sessionLives(first.session_id)).toBe(true);
    expect((await refreshWith(first.refresh_token, HOME)).status).toBe(200);
  });

  it('from the bound IP: 204, and the session has ended', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd', { clientAttributes: HOME });
    expect((await logoutWith(first.session_id, HOME)).status).toBe(204);
    expect(await sessionLives(first.session_id)).toBe(false);
    expect((await refreshWith(first.refresh_token, HOME)).body.error_code).toBe('invalid_grant');
  });
});

describe('refresh-token reuse, strict by default', () => {
  it('a rotated token presented again, even at once, ends the whole session', async () => {
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const rotated = await refreshWith(first.refresh_token);
    expect(rotated.status).toBe(200);
    expect((await refreshWith(first.refresh_token)).body.error_code).toBe('invalid_grant');
    expect((await stored(first.session_id)).value).toMatchObject({ end_reason: 'refresh_token_reuse' });
    expect((await refreshWith(rotated.body.refresh_token)).body.error_code).toBe('invalid_grant');
  });

  it('two concurrent refreshes with one token: exactly one succeeds, and the double use ends the session', async () => {
    slowSigning(t.deps);
    const first = await seedAuthentication(t.deps, client, user, 'pwd');
    const results = await Promise.all(Array.from({ length: 4 }, () => refreshWith(first.refresh_token)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status !== 200).map((r) => r.body.error_code)).toEqual(['invalid_grant', 'invalid_grant', 'invalid_grant']);
    expect((await stored(first.session_id)).value.end_reason).toBe('refresh_token_reuse');
  });

  it('defaults to no grace on a new client', () => {
    expect(client.refresh_reuse_grace_seconds).toBe(0);
  });
});

describe('refresh-token reuse with a grace set by the client', () => {
  let graceful: { client: ClientRecord; token: string };
  beforeEach(async () => {
    graceful = await createTestClient(t.deps, { name: 'graceful', refresh_reuse_grace_seconds: 10 });
  });

  it('two concurrent refreshes with one token: exactly one succeeds and the session lives on', async () => {
    slowSigning(t.deps);
    const first = await seedAuthentication(t.deps, graceful.client, user, 'pwd');
    const results = await Promise.all(Array.from({ length: 4 }, () => refreshWith(first.refresh_token, undefined, graceful.token)));
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) expect(r.body.error_code).toBe('invalid_grant');
    expect((await refreshWith(ok[0]!.body.refresh_token, undefined, graceful.token)).status).toBe(200);
  });

  it('the just-rotated token is refused without ending the session until the grace ends, to the millisecond', async () => {
    const first = await seedAuthentication(t.deps, graceful.client, user, 'pwd');
    const winner = await refreshWith(first.refresh_token, undefined, graceful.token);
    t.clock.advance(10_000 - 1);
    expect((await refreshWith(first.refresh_token, undefined, graceful.token)).body.error_code).toBe('invalid_grant');
    expect((await stored(first.session_id)).value.ended_at).toBeUndefined();
    t.clock.advance(1);
    expect((await refreshWith(first.refresh_token, undefined, graceful.token)).body.error_code).toBe('invalid_grant');
    expect((await stored(first.session_id)).value.end_reason).toBe('refresh_token_reuse');
    expect((await refreshWith(winner.body.refresh_token, undefined, graceful.token)).body.error_code).toBe('invalid_grant');
  });

  it('covers only the token rotated last: an older rotated token is reuse at once', async () => {
    const first = await seedAuthentication(t.deps, graceful.client, user, 'pwd');
    const second = await refreshWith(first.refresh_token, undefined, graceful.token);
    await refreshWith(second.body.refresh_token, undefined, graceful.token);
    expect((await refreshWith(first.refresh_token, undefined, graceful.token)).body.error_code).toBe('invalid_grant');
    expect((await stored(first.session_id)).value.end_reason).toBe('refresh_token_reuse');
  });
});
