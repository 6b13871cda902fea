/**
 * Adding a factor races a credential change: the enrolment read a live
 * session, and while it is on its way to its write the user's password is
 * replaced, or every session logged out, or the user disabled. The session
 * that asked is over by then, and so must the enrolment be: an attacker who
 * holds a stolen session must not bind a factor of their own to the account
 * just after the owner threw them out (the test clock stands still, so every
 * step happens at one instant).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { replaceUserPassword } from '../../functions/core/user-passwords.js';
import { logoutUserSessions } from '../../functions/core/user-sessions.js';
import { createUserPassword } from '../../functions/core/user-passwords.js';
import { updateUser } from '../../functions/core/users.js';
import { handler as recoveryGenerate } from '../../functions/handlers/auth-recovery-codes-generate.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { handler as registerStart } from '../../functions/handlers/auth-webauthn-register-start.js';
import { handler as register } from '../../functions/handlers/auth-webauthn-register.js';
import type { Store } from '../../functions/ports.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { SoftAuthenticator } from '../support/soft-authenticator.js';
import { proxyStore } from '../support/store-proxy.js';

const ORIGIN = 'https://app.example';
const PASSWORD = 'correct horse battery staple';

let t: TestContext;
let real: Store;
let client: ClientRecord;
let user: UserRecord;
/** Runs once, just before the next write of a key `beforeWriteOf` matches: the credential change the enrolment loses to. */
let beforeWrite: { matches: (key: string) => boolean; change: () => Promise<unknown> } | undefined;

beforeEach(async () => {
  t = await createTestDeps();
  real = t.store;
  t.deps.store = proxyStore(real, async (op, key) => {
    if (op === 'put' && beforeWrite?.matches(key)) {
      const { change } = beforeWrite;
      beforeWrite = undefined;
      await change();
    }
  });
  ({ client } = await createTestClient(t.deps, { webauthn_rp_id: 'app.example', webauthn_origins: [ORIGIN] }));
  user = await seedUser(t.deps, { username: 'ada' });
  await createUserPassword({ ...t.deps, store: real }, user.user_id, { password: PASSWORD });
});

const direct = () => ({ ...t.deps, store: real });
const CHANGES: Array<[string, () => Promise<unknown>]> = [
  ['the password is replaced', () => replaceUserPassword(direct(), user.user_id, { password: 'a brand new passphrase 2' })],
  ['every session is logged out', () => logoutUserSessions(direct(), client, user.user_id)],
  ['the user is disabled and enabled again', async () => {
    await updateUser(direct(), user.user_id, { status: 'Disabled' });
    await updateUser(direct(), user.user_id, { status: 'Active' });
  }],
];

async function stored(): Promise<UserRecord> {
  return (await real.get<UserRecord>(keys.user(user.user_id)))!.value;
}

describe.each(CHANGES)('an enrolment in flight when %s', (_, change) => {
  it('a bootstrap authenticator app from the ended session is refused, and none is stored', async () => {
    const session = await seedAuthentication(t.deps, client, await stored(), 'pwd');
    beforeWrite = { matches: (key) => key === keys.user(user.user_id), change };
    const res = await invoke(totpRegister, { token: session.access_token, body: {} });
    expect(res.status).toBe(401);
    expect((await stored()).totp).toBeUndefined();
  });

  it('a bootstrap passkey from the ended session is refused, and none is stored', async () => {
    const session = await seedAuthentication(t.deps, client, await stored(), 'pwd');
    const started = await invoke(registerStart, { token: session.access_token, body: {} });
    expect(started.status).toBe(200);
    const encoded = new SoftAuthenticator(ORIGIN).create(started.body.credential_creation_options);
    beforeWrite = { matches: (key) => key === keys.user(user.user_id), change };
    const res = await invoke(register, { token: session.access_token, body: { webauthn_encoded_result: encoded } });
    expect(res.status).toBe(401);
    expect((await stored()).webauthn_credentials ?? []).toHaveLength(0);
  });

  it('recovery codes from an ended MFA session are refused, and no set is stored', async () => {
    await real.put(keys.user(user.user_id), { ...(await stored()), phone_number: '+15551234567', phone_number_verified: true }, { expectVersion: (await real.get(keys.user(user.user_id)))!.version });
    const first = await seedAuthentication(t.deps, client, await stored(), 'pwd');
    const session = await seedAuthentication(t.deps, client, await stored(), 'sms', { sessionId: first.session_id });
    beforeWrite = { matches: (key) => key === keys.recoveryCodes(user.user_id), change };
    const res = await invoke(recoveryGenerate, { token: session.access_token });
    expect(res.status).toBe(401);
    expect(await real.get(keys.recoveryCodes(user.user_id))).toBeUndefined();
  });
});
