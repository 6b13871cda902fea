/**
 * Refresh tokens with no window to evict, in either direction: a token ever
 * rotated away is reuse however many rotations came after it, and a token
 * never rotated stays good however many token responses that do not rotate
 * (step-up checks, joins) the session gave out since. The stored session does
 * not grow with either.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '../../functions/core/crypto.js';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { authenticateSession, refreshSession } from '../../functions/core/sessions.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, token } = await createTestClient(t.deps));
  user = await seedUser(t.deps, { email: 'ada@example.com' });
});

const stored = async (sessionId: string) => (await t.store.get<SessionRecord>(keys.session(sessionId)))!;
const sizeOf = async (sessionId: string) => JSON.stringify((await stored(sessionId)).value).length;
const refreshWith = (refresh_token: string) => invoke(refresh, { token, body: { refresh_token } });

describe('a refresh token rotated away', () => {
  it('is reuse after 1,000 rotations: the session ends, and the record does not grow', async () => {
    const login = await seedAuthentication(t.deps, client, user, 'pwd');
    let current = (await refreshSession(t.deps, client, login.refresh_token)).refresh_token;
    const early = current;
    current = (await refreshSession(t.deps, client, current)).refresh_token;
    const sizeAfterTwo = await sizeOf(login.session_id);
    for (let i = 0; i < 998; i++) current = (await refreshSession(t.deps, client, current)).refresh_token;
    // A generation number of four digits instead of one is all that grows.
    expect(await sizeOf(login.session_id)).toBeLessThanOrEqual(sizeAfterTwo + 3);

    const res = await refreshWith(login.refresh_token);
    expect(res).toMatchObject({ status: 400, body: { error_code: 'invalid_grant' } });
    expect((await stored(login.session_id)).value.end_reason).toBe('refresh_token_reuse');
    // The thief's token, the newest, dies with the session; so does any other.
    expect((await refreshWith(current)).body.error_code).toBe('invalid_grant');
    expect((await refreshWith(early)).body.error_code).toBe('invalid_grant');
  }, 120_000);

  it('any generation in between is reuse too', async () => {
    const login = await seedAuthentication(t.deps, client, user, 'pwd');
    let current = login.refresh_token;
    const seen: string[] = [];
    for (let i = 0; i < 60; i++) {
      seen.push(current);
      current = (await refreshSession(t.deps, client, current)).refresh_token;
    }
    expect((await refreshWith(seen[7]!)).body.error_code).toBe('invalid_grant');
    expect((await stored(login.session_id)).value.end_reason).toBe('refresh_token_reuse');
  });

  it('a token of another generation that the service never issued is unknown, and ends nothing', async () => {
    const login = await seedAuthentication(t.deps, client, user, 'pwd');
    const rotated = await refreshSession(t.deps, client, login.refresh_token);
    const [sessionId, , tag] = login.refresh_token.split('.');
    for (const forged of [`${sessionId}.0.${'A'.repeat(tag!.length)}`, `${sessionId}.7.${tag}`, `${sessionId}.0`, `${sessionId}.x.${tag}`]) {
      expect((await refreshWith(forged)).body.error_code).toBe('invalid_grant');
    }
    expect((await stored(login.session_id)).value.ended_at).toBeUndefined();
    expect((await refreshWith(rotated.refresh_token)).status).toBe(200);
  });
});

describe('a refresh token never rotated', () => {
  it('still works after 1,000 step-up checks, and the record does not grow', async () => {
    const login = await seedAuthentication(t.deps, client, user, 'pwd');
    await authenticateSession(t.deps, client, login.session_id, undefined, { maxAge: 300 });
    const sizeAfterOne = await sizeOf(login.session_id);
    let last = '';
    for (let i = 0; i < 999; i++) last = (await authenticateSession(t.deps, client, login.session_id, undefined, { maxAge: 300 })).refresh_token;
    expect(await sizeOf(login.session_id)).toBe(sizeAfterOne);
    // A response that does not rotate hands out the session's current refresh token.
    expect(last).toBe(login.refresh_token);

    const res = await refreshWith(login.refresh_token);
    expect(res.status).toBe(200);
    expect((await refreshWith(res.body.refresh_token)).status).toBe(200);
  }, 120_000);

  it('still works after joins add authentications to the session', async () => {
    const login = await seedAuthentication(t.deps, client, user, 'pwd');
    for (let i = 0; i < 25; i++) await seedAuthentication(t.deps, client, user, 'eotp', { sessionId: login.session_id });
    expect((await refreshWith(login.refresh_token)).status).toBe(200);
  });

  it('after a rotation, a step-up hands out the rotated-to token, and the login token is reuse', async () => {
    const login = await seedAuthentication(t.deps, client, user, 'pwd');
    const rotated = await refreshSession(t.deps, client, login.refresh_token);
    const stepUp = await authenticateSession(t.deps, client, login.session_id, undefined);
    expect(stepUp.refresh_token).toBe(rotated.refresh_token);
    expect((await refreshWith(login.refresh_token)).body.error_code).toBe('invalid_grant');
    expect((await stored(login.session_id)).value.end_reason).toBe('refresh_token_reuse');
  });
});

describe('a session stored before generations (refresh token hashes)', () => {
  async function oldLayoutSession(): Promise<{ sessionId: string; live: string[]; retired: string }> {
    const now = t.clock.now();
    const sessionId = `${user.user_id}~oldlayoutsession0000000`;
    const live = [`${sessionId}.live-one-${'a'.repeat(32)}`, `${sessionId}.live-two-${'b'.repeat(32)}`];
    const retired = `${sessionId}.retired-${'c'.repeat(32)}`;
    const record = {
      session_id: sessionId,
      client_id: client.client_id,
      user_id: user.user_id,
      authentications: [{ method: 'pwd', at: now }],
      created_at: now,
      last_active_at: now,
      idle_timeout_seconds: 86_400,
      absolute_lifetime_seconds: 14 * 86_400,
      refresh_token_hashes: live.map(sha256),
      retired_refresh_token_hashes: [sha256(retired)],
      last_rotation: { hash: sha256(retired), at: now - 60_000 },
    };
    await t.store.put(keys.session(sessionId), record, { expectVersion: null });
    return { sessionId, live, retired };
  }

  it('its live tokens refresh, each once, into one lineage', async () => {
    const { sessionId, live } = await oldLayoutSession();
    const first = await refreshWith(live[0]!);
    expect(first.status).toBe(200);
    const second = await refreshWith(live[1]!);
    expect(second.status).toBe(200);
    expect((await stored(sessionId)).value.ended_at).toBeUndefined();
    expect((await refreshWith(second.body.refresh_token)).status).toBe(200);
  });

  it('its retired token is reuse, and so is a live one presented after it was rotated', async () => {
    const { sessionId, live, retired } = await oldLayoutSession();
    expect((await refreshWith(retired)).body.error_code).toBe('invalid_grant');
    expect((await stored(sessionId)).value.end_reason).toBe('refresh_token_reuse');

    const again = await oldLayoutSession().catch(() => undefined);
    expect(again).toBeUndefined(); // the id is taken; use a fresh user for the second case
    user = await seedUser(t.deps, { email: 'grace@example.com' });
    const other = await oldLayoutSession();
    expect((await refreshWith(other.live[0]!)).status).toBe(200);
    expect((await refreshWith(other.live[0]!)).body.error_code).toBe('invalid_grant');
    expect((await stored(other.sessionId)).value.end_reason).toBe('refresh_token_reuse');
    void live;
  });

  it('a step-up of it leaves its live tokens good', async () => {
    const { sessionId, live } = await oldLayoutSession();
    for (let i = 0; i < 25; i++) await authenticateSession(t.deps, client, sessionId, undefined);
    expect((await refreshWith(live[0]!)).status).toBe(200);
    expect((await refreshWith(live[1]!)).status).toBe(200);
  });
});
