/**
 * A credential change wins every race: a login that read the user before the
 * password was replaced (or the user disabled) and writes its session after
 * gets a session that never works, even within the same millisecond (the
 * test clock stands still, so every step here happens at one instant).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type SessionRecord, type UserRecord } from '../../functions/core/model.js';
import { deletePasskey } from '../../functions/core/passkey-registration.js';
import { replaceUserPassword } from '../../functions/core/user-passwords.js';
import { updateUser } from '../../functions/core/users.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import type { Store } from '../../functions/ports.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

const OLD = 'correct horse battery staple';
const NEW = 'a brand new passphrase 2';

let t: TestContext;
let client: ClientRecord;
let token: string;
let user: UserRecord;
/** Runs once, just before the next session write: the credential change a slow login loses to. */
let beforeSessionWrite: (() => Promise<void>) | undefined;

beforeEach(async () => {
  t = await createTestDeps();
  const real: Store = t.store;
  t.deps.store = proxyStore(real, async (op, key) => {
    if (op === 'put' && key.startsWith('session#') && beforeSessionWrite) {
      const change = beforeSessionWrite;
      beforeSessionWrite = undefined;
      await change();
    }
  });
  ({ client, token } = await createTestClient(t.deps));
  user = await seedUser(t.deps, { username: 'ada' });
  const { createUserPassword } = await import('../../functions/core/user-passwords.js');
  await createUserPassword({ ...t.deps, store: real }, user.user_id, { password: OLD });
});

const login = (password: string) => invoke(passwordAuthenticate, { token, body: { username: 'ada', password } });
async function sessionWorks(res: { body: { session_id: string; refresh_token: string } }): Promise<boolean> {
  const viaSession = await invoke(sessionAuthenticate, { token, body: { session_id: res.body.session_id } });
  const viaRefresh = await invoke(refresh, { token, body: { refresh_token: res.body.refresh_token } });
  expect(viaSession.status === 200).toBe(viaRefresh.status === 200);
  return viaSession.status === 200;
}

describe('a login in flight when the credential changes', () => {
  it('password replaced while the old password is being checked: the session it writes never works', async () => {
    beforeSessionWrite = () => replaceUserPassword({ ...t.deps, store: t.store }, user.user_id, { password: NEW });
    const res = await login(OLD);
    expect(await sessionWorks(res)).toBe(false);
    // The old password is refused from now on, and the new one opens a session that works, in the same millisecond.
    expect((await login(OLD)).body.error_code).toBe('auth_invalid_credentials');
    expect(await sessionWorks(await login(NEW))).toBe(true);
  });

  it('user disabled and enabled again while the password is being checked: the session it writes never works', async () => {
    beforeSessionWrite = async () => {
      await updateUser({ ...t.deps, store: t.store }, user.user_id, { status: 'Disabled' });
      await updateUser({ ...t.deps, store: t.store }, user.user_id, { status: 'Active' });
    };
    const res = await login(OLD);
    expect(await sessionWorks(res)).toBe(false);
    expect(await sessionWorks(await login(OLD))).toBe(true);
  });

  it('a session that lives when the password is replaced ends, in the same millisecond', async () => {
    const res = await login(OLD);
    await replaceUserPassword(t.deps, user.user_id, { password: NEW });
    expect(await sessionWorks(res)).toBe(false);
  });
});

describe('a factor removed', () => {
  const PASSKEY = {
    id: 'cred-1',
    public_key: 'x',
    algorithm: 'ES256' as const,
    counter: 0,
    transports: [],
    backup_eligible: false,
    backed_up: false,
    aaguid: '00000000-0000-0000-0000-000000000000',
    name: 'Passkey',
    created_at: 0,
  };

  it('deleting a passkey ends the sessions proved before, logins in flight included', async () => {
    const stored = (await t.store.get<UserRecord>(keys.user(user.user_id)))!;
    await t.store.put(keys.user(user.user_id), { ...stored.value, webauthn_credentials: [PASSKEY] }, { expectVersion: stored.version });
    const holder = (await t.store.get<UserRecord>(keys.user(user.user_id)))!.value;
    const live = await seedAuthentication(t.deps, client, holder, 'webauthn');
    beforeSessionWrite = () => deletePasskey({ ...t.deps, store: t.store }, user.user_id, PASSKEY.id);
    const inFlight = await seedAuthentication(t.deps, client, holder, 'webauthn');
    for (const session of [live, inFlight]) {
      expect((await invoke(sessionAuthenticate, { token, body: { session_id: session.session_id } })).body.error_code).toBe('session_not_found');
    }
  });
});

describe('a verified contact replaced: the email or phone factor it was is lost', () => {
  // A verified contact is a factor class of its own (core/mfa.ts): replacing it removes that factor, as
  // revoking an app does. The case that matters: the owner gets their number back after a SIM swap.
  const CONTACTS = [
    ['phone number', 'sms', { phone_number: '+15551234567', phone_number_verified: true }, { phone_number: '+15557654321' }],
    ['email', 'eotp', { email: 'ada@example.com', email_verified: true }, { email: 'ada@example.org' }],
  ] as const;

  it.each(CONTACTS)('replacing a verified %s ends the sessions proved before, logins in flight included', async (_, method, held, replacement) => {
    const stored = (await t.store.get<UserRecord>(keys.user(user.user_id)))!;
    await t.store.put(keys.user(user.user_id), { ...stored.value, ...held }, { expectVersion: stored.version });
    const holder = (await t.store.get<UserRecord>(keys.user(user.user_id)))!.value;
    const live = await seedAuthentication(t.deps, client, holder, 'pwd');
    await seedAuthentication(t.deps, client, holder, method, { sessionId: live.session_id });
    beforeSessionWrite = async () => void (await updateUser({ ...t.deps, store: t.store }, user.user_id, replacement));
    const inFlight = await seedAuthentication(t.deps, client, holder, 'pwd');
    for (const session of [live, inFlight]) {
      expect((await invoke(sessionAuthenticate, { token, body: { session_id: session.session_id } })).body.error_code).toBe('session_not_found');
    }
    expect(await sessionWorks(await login(OLD))).toBe(true);
  });

  it.each(CONTACTS)('replacing an unverified %s removes no factor: the sessions live on', async (_, _method, held, replacement) => {
    const stored = (await t.store.get<UserRecord>(keys.user(user.user_id)))!;
    const unverified = Object.fromEntries(Object.entries(held).map(([k, v]) => [k, typeof v === 'boolean' ? false : v]));
    await t.store.put(keys.user(user.user_id), { ...stored.value, ...unverified }, { expectVersion: stored.version });
    const live = await login(OLD);
    await updateUser({ ...t.deps, store: t.store }, user.user_id, { ...replacement, name: { first_name: 'Ada' } });
    expect(await sessionWorks(live)).toBe(true);
  });
});

describe('users stamped before credential versions (sessions_valid_after)', () => {
  it('sessions created before the stamp stay ended, later ones work', async () => {
    const before = await seedAuthentication(t.deps, client, user, 'pwd');
    t.clock.advanceSeconds(1);
    const stored = (await t.store.get<UserRecord>(keys.user(user.user_id)))!;
    await t.store.put(keys.user(user.user_id), { ...stored.value, sessions_valid_after: t.clock.now() }, { expectVersion: stored.version });
    t.clock.advanceSeconds(1);
    const after = await seedAuthentication(t.deps, client, { ...stored.value }, 'pwd');
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: before.session_id } })).body.error_code).toBe('session_not_found');
    expect((await invoke(sessionAuthenticate, { token, body: { session_id: after.session_id } })).status).toBe(200);
    const session = (await t.store.get<SessionRecord>(keys.session(after.session_id)))!.value;
    expect(session.credential_version ?? 0).toBe(0);
  });
});
