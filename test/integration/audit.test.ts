/**
 * Audit events (docs/audit.md): every authentication success and failure,
 * lockout, logout, user deletion, refresh-token reuse and client
 * authentication emits exactly one structured event, to the log and to the
 * Audit port; an audit that fails never changes the answer.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ClientRecord, UserRecord } from '../../functions/core/model.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { handler as usersDelete } from '../../functions/handlers/users-delete.js';
import { handler as setPassword } from '../../functions/handlers/users-password-create.js';
import { registerTotp } from '../../functions/core/totp.js';
import { handler as verifySend } from '../../functions/handlers/users-email-verification-send.js';
import { handler as verifyVerify } from '../../functions/handlers/users-email-verification-verify.js';
import type { AuditEvent } from '../../functions/ports.js';
import { createTestClient, createTestDeps, invoke, lastCode, otherCode, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const PASSWORD = 'correct horse battery staple';
const IP = '203.0.113.7';

let t: TestContext;
let client: ClientRecord;
let secret: string;
let token: string;
let ada: UserRecord;
let events: AuditEvent[];

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, secret, token } = await createTestClient(t.deps, { bind_sessions_to_ip: false }));
  ada = await seedUser(t.deps, { email: 'ada@example.com', phone_number: '+15551234567', username: 'ada' });
  await invoke(setPassword, { token, params: { user_id: ada.user_id }, body: { password: PASSWORD } });
  events = [];
  const log = t.deps.audit;
  t.deps.audit = {
    record: async (event) => {
      events.push(event);
      await log.record(event);
    },
  };
});

const at = () => new Date(t.clock.now()).toISOString();
const attributes = { client_attributes: { ip_address: IP } };

function password(pw: string) {
  return invoke(passwordAuthenticate, { token, body: { username: 'ada', password: pw, ...attributes } });
}

describe('authentication events', () => {
  it('a password login emits one success event with who, how, from where and when', async () => {
    expect((await password(PASSWORD)).status).toBe(200);
    expect(events).toEqual([
      { event: 'authentication', user_id: ada.user_id, client_id: client.client_id, method: 'pwd', ip: IP, outcome: 'success', mfa: false, at: at() },
    ]);
  });

  it('the same event is written to the log as one JSON line', async () => {
    await password(PASSWORD);
    const lines = t.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit');
    expect(lines).toEqual([expect.objectContaining({ event: 'authentication', user_id: ada.user_id, method: 'pwd', outcome: 'success', ip: IP })]);
  });

  it('a wrong password emits one failure with the error code the caller got', async () => {
    expect((await password('wrong password here')).status).toBe(400);
    expect(events).toEqual([expect.objectContaining({ event: 'authentication', user_id: ada.user_id, method: 'pwd', outcome: 'auth_invalid_credentials', ip: IP })]);
  });

  it('an unknown user emits a failure without a user', async () => {
    await invoke(passwordAuthenticate, { token, body: { username: 'nobody', password: PASSWORD } });
    expect(events).toEqual([expect.objectContaining({ event: 'authentication', user_id: null, method: 'pwd', outcome: 'auth_invalid_credentials', ip: null })]);
  });

  it('the failure that locks the password emits a lockout besides its failure, and the locked attempt after it a failure', async () => {
    for (let i = 0; i < 10; i++) await password(`wrong password ${i}`);
    expect(events.filter((e) => e.event === 'lockout')).toEqual([
      { event: 'lockout', user_id: ada.user_id, client_id: client.client_id, method: 'pwd', ip: IP, outcome: 'locked', at: at() },
    ]);
    expect(events.filter((e) => e.event === 'authentication')).toHaveLength(10);
    events.length = 0;
    expect((await password(PASSWORD)).status).toBe(403);
    expect(events).toEqual([expect.objectContaining({ event: 'authentication', outcome: 'auth_locked', method: 'pwd' })]);
  });

  it('SMS OTP: success and failure each emit one event with method sms', async () => {
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: ada.phone_number } });
    const code = lastCode(t.outbox, ada.phone_number!);
    const body = { identifier_type: 'phone_number', identifier: ada.phone_number, ...attributes };
    await invoke(otpAuthenticate, { token, body: { ...body, passcode: otherCode(code) } });
    await invoke(otpAuthenticate, { token, body: { ...body, passcode: code } });
    expect(events.map((e) => [e.event, e.method, e.outcome, e.user_id, e.ip])).toEqual([
      // The delivery sender's: the code went out.
      ['delivery', 'sms', 'delivered', ada.user_id, null],
      ['authentication', 'sms', 'auth_invalid_credentials', ada.user_id, IP],
      ['authentication', 'sms', 'success', ada.user_id, IP],
    ]);
  });

  it('an OTP for an unknown user emits one failure, with the method the identifier names', async () => {
    await invoke(otpAuthenticate, { token, body: { identifier_type: 'email', identifier: 'nobody@example.com', passcode: '123456' } });
    expect(events).toEqual([expect.objectContaining({ event: 'authentication', user_id: null, method: 'eotp', outcome: 'auth_invalid_credentials' })]);
  });

  it('five wrong tries on one code emit a lockout', async () => {
    await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: 'ada@example.com' } });
    const code = lastCode(t.outbox, 'ada@example.com');
    for (let i = 1; i <= 5; i++) {
      await invoke(otpAuthenticate, { token, body: { identifier_type: 'email', identifier: 'ada@example.com', passcode: otherCode(String(Number(code) + i)) } });
    }
    expect(events.filter((e) => e.event === 'lockout')).toEqual([expect.objectContaining({ user_id: ada.user_id, method: 'eotp', outcome: 'locked' })]);
    expect(events.filter((e) => e.event === 'authentication')).toHaveLength(5);
  });

  it('TOTP: a wrong code emits a failure, ten of them a lockout', async () => {
    const body = await registerTotp(t.deps, ada.user_id);
    const window = new Set([-1, 0, 1].map((o) => totpCodeForStep(body.secret, totpStep(t.clock.now()) + o)));
    const wrong = ['000000', '111111', '222222', '333333', '444444', '555555', '666666', '777777', '888888', '999999', '123456', '654321'].filter((c) => !window.has(c));
    for (const passcode of wrong.slice(0, 10)) {
      await invoke(totpAuthenticate, { token, body: { identifier_type: 'username', identifier: 'ada', token: passcode, ...attributes } });
    }
    expect(events.filter((e) => e.event === 'authentication').every((e) => e.method === 'otp' && e.user_id === ada.user_id && e.outcome !== 'success')).toBe(true);
    expect(events.filter((e) => e.event === 'lockout')).toEqual([expect.objectContaining({ user_id: ada.user_id, method: 'otp', ip: IP })]);
  });

  it('an unknown magic link code emits one failure', async () => {
    await invoke(linkAuthenticate, { token, body: { code: 'x'.repeat(43), ...attributes } });
    expect(events).toEqual([expect.objectContaining({ event: 'authentication', method: 'eml', user_id: null, outcome: 'invalid_magic_link_code', ip: IP })]);
  });

  it('a session authenticate emits one event with method session', async () => {
    const login = await password(PASSWORD);
    events.length = 0;
    await invoke(sessionAuthenticate, { token, body: { session_id: login.body.session_id } });
    await invoke(sessionAuthenticate, { token, body: { session_id: 'no-such-session' } });
    expect(events.map((e) => [e.event, e.method, e.outcome, e.user_id])).toEqual([
      ['authentication', 'session', 'success', ada.user_id],
      ['authentication', 'session', 'session_not_found', null],
    ]);
  });
});

describe('other events', () => {
  it('contact verification: a wrong and a right code each emit one verification event', async () => {
    await invoke(verifySend, { token, params: { user_id: ada.user_id }, body: { email: 'ada@example.com' } });
    const code = lastCode(t.outbox, 'ada@example.com');
    await invoke(verifyVerify, { token, params: { user_id: ada.user_id }, body: { email: 'ada@example.com', passcode: otherCode(code) } });
    await invoke(verifyVerify, { token, params: { user_id: ada.user_id }, body: { email: 'ada@example.com', passcode: code } });
    expect(events.map((e) => [e.event, e.method, e.outcome, e.user_id])).toEqual([
      ['delivery', 'email', 'delivered', ada.user_id],
      ['verification', 'email', 'auth_invalid_credentials', ada.user_id],
      ['verification', 'email', 'success', ada.user_id],
    ]);
  });

  it('logout emits one logout event naming the session user', async () => {
    const login = await password(PASSWORD);
    events.length = 0;
    expect((await invoke(logout, { token, body: { session_id: login.body.session_id } })).status).toBe(204);
    expect(events).toEqual([{ event: 'logout', user_id: ada.user_id, client_id: client.client_id, method: 'session', ip: null, outcome: 'success', at: at() }]);
  });

  it('reusing a rotated refresh token emits refresh_token_reuse once', async () => {
    const login = await password(PASSWORD);
    await invoke(refresh, { token, body: { refresh_token: login.body.refresh_token } });
    t.clock.advanceSeconds(60);
    events.length = 0;
    expect((await invoke(refresh, { token, body: { refresh_token: login.body.refresh_token } })).status).toBe(400);
    expect(events).toEqual([expect.objectContaining({ event: 'refresh_token_reuse', user_id: ada.user_id, client_id: client.client_id, outcome: 'session_ended' })]);
  });

  it('deleting a user emits user_deleted with the client that did it', async () => {
    expect((await invoke(usersDelete, { token, params: { user_id: ada.user_id } })).status).toBe(204);
    expect(events).toEqual([{ event: 'user_deleted', user_id: ada.user_id, client_id: client.client_id, method: null, ip: null, outcome: 'success', at: at() }]);
  });

  it('client credentials: a wrong secret and a right one each emit client_authentication', async () => {
    const form = (s: string) => ({ rawBody: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: s }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect((await invoke(oidcToken, form('wrong'))).status).toBe(401);
    expect((await invoke(oidcToken, form(secret))).status).toBe(200);
    expect(events.map((e) => [e.event, e.client_id, e.method, e.outcome, e.ip])).toEqual([
      ['client_authentication', client.client_id, 'client_secret', 'invalid_client', '127.0.0.1'],
      ['client_authentication', client.client_id, 'client_secret', 'success', '127.0.0.1'],
    ]);
  });
});

describe('an audit that fails', () => {
  it('never changes the answer, and is logged without the event content', async () => {
    t.deps.audit = {
      record: async () => {
        throw new Error('eventbridge down');
      },
    };
    const ok = await password(PASSWORD);
    expect(ok.status).toBe(200);
    expect(ok.body.access_token).toBeTruthy();
    expect((await password('wrong password here')).status).toBe(400);
    const logged = t.logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit event not recorded');
    expect(logged).toEqual([
      expect.objectContaining({ level: 'error', event: 'authentication', outcome: 'success' }),
      expect.objectContaining({ level: 'error', event: 'authentication', outcome: 'auth_invalid_credentials' }),
    ]);
  });
});
