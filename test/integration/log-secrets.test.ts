/**
 * Secrets never appear in logs; contacts appear only masked (contract
 * section 8). Every flow runs through the real handlers while everything the
 * process writes (our JSON logger on stdout, console.*, stderr) is captured;
 * then the capture is searched for every secret the flows used or were given:
 * passwords (right and wrong), OTP, verification and TOTP codes (right and
 * wrong), link codes, the TOTP seed, the client secret, and every access, ID
 * and refresh token (whole, and their payload and signature parts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LogAudit } from '../../functions/adapters/audit-log.js';
import { jsonLogger, maskContacts } from '../../functions/adapters/logger.js';
import { totpCodeForStep, totpStep } from '../../functions/core/totp.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as logout } from '../../functions/handlers/auth-logout.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as totpAuthenticate } from '../../functions/handlers/auth-totp-authenticate.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { handler as usersCreate } from '../../functions/handlers/users-create.js';
import { handler as emailVerifySend } from '../../functions/handlers/users-email-verification-send.js';
import { handler as emailVerify } from '../../functions/handlers/users-email-verification-verify.js';
import { handler as usersGetByEmail } from '../../functions/handlers/users-get-by-email.js';
import { handler as phoneVerifySend } from '../../functions/handlers/users-phone-verification-send.js';
import { handler as phoneVerify } from '../../functions/handlers/users-phone-verification-verify.js';
import { handler as replacePassword } from '../../functions/handlers/users-password-update.js';
import { registerTotp } from '../../functions/core/totp.js';
import { installDeps } from '../../functions/runtime.js';
import { createTestClient, createTestDeps, invoke, lastCode, otherCode, type TestContext } from '../support/harness.js';

const EMAIL = 'ada.lovelace@example.com';
const PHONE = '+15551234567';
const REDIRECT = 'https://app.example/callback';

let t: TestContext;
let captured: string[];
const secrets = new Map<string, string>();
const restores: Array<() => void> = [];

/** Remembers a secret under a label; a token is remembered whole and by its payload and signature. */
function secret(label: string, value: string | undefined): string {
  if (!value) throw new Error(`no ${label}`);
  secrets.set(`${label}: ${value}`, value);
  const parts = value.split('.');
  if (parts.length === 3 && parts[1]!.length > 20) {
    secrets.set(`${label} payload`, parts[1]!);
    secrets.set(`${label} signature`, parts[2]!);
  } else if (parts.length === 2 && parts[1]!.length >= 32) {
    // A refresh token is `<session_id>.<secret>`: the session id is not a secret, the rest is.
    secrets.set(`${label} secret part`, parts[1]!);
  }
  return value;
}

function tokens<T extends { access_token?: string; id_token?: string; refresh_token?: string }>(label: string, body: T): T {
  secret(`${label} access token`, body.access_token);
  secret(`${label} ID token`, body.id_token);
  secret(`${label} refresh token`, body.refresh_token);
  return body;
}

function capture(target: object, method: string) {
  const spy = vi.spyOn(target as Record<string, (...args: unknown[]) => unknown>, method).mockImplementation((...args: unknown[]) => {
    captured.push(args.map((a) => (typeof a === 'string' ? a : a instanceof Uint8Array ? Buffer.from(a).toString('utf8') : JSON.stringify(a) ?? String(a))).join(' '));
    return true;
  });
  restores.push(() => spy.mockRestore());
}

beforeAll(async () => {
  captured = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace']) capture(console, method);
  capture(process.stdout, 'write');
  capture(process.stderr, 'write');

  // Production logging: the JSON logger on stdout, audit events through it.
  t = await createTestDeps();
  const logger = jsonLogger('info');
  Object.assign(t.deps, { logger, audit: new LogAudit(logger) });
  installDeps(t.deps);
  t.deps.hashKey = randomBytes(32);
  secret('hash key', Buffer.from(t.deps.hashKey).toString('base64url'));
  secret('hash key (hex)', Buffer.from(t.deps.hashKey).toString('hex'));

  const { client, secret: clientSecret } = await createTestClient(t.deps, { allow_direct_delivery: true, redirect_uris: [REDIRECT], bind_sessions_to_ip: true });
  secret('client secret', clientSecret);
  const ip = { client_attributes: { ip_address: '198.51.100.4' } };

  // Client credentials, wrong then right.
  const form = (s: string) => ({
    rawBody: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.client_id, client_secret: s }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  await invoke(oidcToken, form(secret('wrong client secret', `${clientSecret.slice(0, -4)}WXYZ`)));
  const token = secret('client access token', (await invoke(oidcToken, form(clientSecret))).body.access_token);

  // A user with a password; lookups by contact.
  const password = secret('password', 'Tr0ub4dor&3-horse-staple');
  const created = await invoke(usersCreate, { token, body: { email: EMAIL, phone_number: PHONE, username: 'ada', credentials: { password } } });
  const userId = created.body.result.user_id as string;
  await invoke(usersGetByEmail, { token, params: { email: EMAIL } });

  // Password: wrong, right.
  await invoke(passwordAuthenticate, { token, body: { username: EMAIL, username_type: 'email', password: secret('wrong password', 'not-the-password-1234'), ...ip } });
  const login = tokens('password login', (await invoke(passwordAuthenticate, { token, body: { username: 'ada', password, ...ip } })).body);

  // Email OTP into the same session: wrong, right.
  await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
  const emailCode = secret('email OTP', lastCode(t.outbox, EMAIL));
  const otpBody = { identifier_type: 'email', identifier: EMAIL, session_id: login.session_id, ...ip };
  await invoke(otpAuthenticate, { token, body: { ...otpBody, passcode: secret('wrong email OTP', otherCode(emailCode)) } });
  tokens('email OTP', (await invoke(otpAuthenticate, { token, body: { ...otpBody, passcode: emailCode } })).body);

  // SMS OTP, a new session.
  t.clock.advanceSeconds(31);
  await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: PHONE, custom_sms_input: { custom_message: '{otp} is your {app} code' } } });
  const smsCode = secret('SMS OTP', lastCode(t.outbox, PHONE));
  tokens('SMS OTP', (await invoke(otpAuthenticate, { token, body: { identifier_type: 'phone_number', identifier: PHONE, passcode: smsCode } })).body);

  // Direct delivery: the code is in the response.
  t.clock.advanceSeconds(31);
  const direct = await invoke(otpSend, { token, body: { channel: 'direct', identifier_type: 'email', identifier: EMAIL } });
  const directCode = secret('direct OTP', direct.body.code);
  tokens('direct OTP', (await invoke(otpAuthenticate, { token, body: { identifier_type: 'email', identifier: EMAIL, passcode: directCode } })).body);

  // Magic link, wrong then right.
  t.clock.advanceSeconds(31);
  await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: REDIRECT, state: 'st' } });
  const link = secret('magic link', t.outbox.last(EMAIL)!.link);
  const linkCode = secret('magic link code', new URL(link).searchParams.get('code')!);
  await invoke(linkAuthenticate, { token, body: { code: secret('wrong link code', `${linkCode.slice(0, -3)}abc`) } });
  tokens('magic link', (await invoke(linkAuthenticate, { token, body: { code: linkCode } })).body);

  // TOTP: register, wrong, right.
  const registered = { body: await registerTotp(t.deps, userId) };
  const seed = secret('TOTP seed', registered.body.secret);
  secret('TOTP uri', registered.body.uri);
  const totpCode = secret('TOTP code', totpCodeForStep(seed, totpStep(t.clock.now())));
  await invoke(totpAuthenticate, { token, body: { identifier_type: 'username', identifier: 'ada', token: secret('wrong TOTP code', otherCode(totpCode)) } });
  tokens('TOTP', (await invoke(totpAuthenticate, { token, body: { identifier_type: 'username', identifier: 'ada', token: totpCode } })).body);

  // Contact verification by email and by phone: wrong, right.
  t.clock.advanceSeconds(31);
  await invoke(emailVerifySend, { token, params: { user_id: userId }, body: { email: EMAIL } });
  const emailVerification = secret('email verification code', lastCode(t.outbox, EMAIL));
  await invoke(emailVerify, { token, params: { user_id: userId }, body: { email: EMAIL, passcode: secret('wrong email verification code', otherCode(emailVerification)) } });
  await invoke(emailVerify, { token, params: { user_id: userId }, body: { email: EMAIL, passcode: emailVerification } });
  await invoke(phoneVerifySend, { token, params: { user_id: userId }, body: { phone_number: PHONE } });
  const phoneVerification = secret('phone verification code', lastCode(t.outbox, PHONE));
  await invoke(phoneVerify, { token, params: { user_id: userId }, body: { phone_number: PHONE, passcode: phoneVerification } });

  // Session, refresh (and its reuse), logout.
  tokens('session authenticate', (await invoke(sessionAuthenticate, { token, body: { session_id: login.session_id, ...ip } })).body);
  const refreshed = tokens('refresh', (await invoke(refresh, { token, body: { refresh_token: login.refresh_token, ...ip } })).body);
  t.clock.advanceSeconds(60);
  await invoke(refresh, { token, body: { refresh_token: login.refresh_token, ...ip } });
  await invoke(refresh, { token, body: { refresh_token: refreshed.refresh_token, ...ip } });
  await invoke(logout, { token, body: { session_id: login.session_id, ...ip } });

  // A new password, then a login with it.
  const newPassword = secret('new password', 'correct-horse-battery-staple-2');
  await invoke(replacePassword, { token, params: { user_id: userId }, body: { password: newPassword } });
  tokens('new password login', (await invoke(passwordAuthenticate, { token, body: { username: 'ada', password: newPassword } })).body);

  // A delivery provider that fails quoting its recipient, as SMTP and SMS gateways do.
  t.deps.mailer = {
    sendEmail: async (message) => {
      throw new Error(`550 5.1.1 mailbox unavailable: <${message.to}>; sms fallback ${PHONE}`);
    },
  };
  t.clock.advanceSeconds(31);
  await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
}, 60_000);

afterAll(() => {
  for (const restore of restores) restore();
});

describe('everything logged while every flow ran', () => {
  it('was captured (the scan looks at real output)', () => {
    const lines = captured.join('\n');
    expect(lines).toContain('"msg":"request"');
    expect(lines).toContain('"msg":"audit"');
    expect(lines).toContain('"msg":"unhandled error"');
    expect(secrets.size).toBeGreaterThan(60);
  });

  it('holds none of the secrets used', () => {
    const text = captured.join('\n');
    const leaked = [...secrets].filter(([, value]) => text.includes(value)).map(([label]) => label);
    expect(leaked).toEqual([]);
  });

  it('holds no email address or phone number in clear, only masked', () => {
    const text = captured.join('\n');
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(PHONE);
    expect(text).not.toContain('5551234567');
    // The provider's message was kept, its contacts masked.
    expect(text).toContain('a***@example.com');
    expect(text).toContain('+***67');
  });
});

describe('contact masking', () => {
  it.each([
    ['ada@example.com', 'a***@example.com'],
    ['to <Ada.Lovelace+mfa@mail.example.co.uk>;', 'to <A***@mail.example.co.uk>;'],
    ['+15551234567 and +447700900123', '+***67 and +***23'],
    ['request 7d2c-4e1f at 2026-01-15T12:00:00.000Z took 12 ms', 'request 7d2c-4e1f at 2026-01-15T12:00:00.000Z took 12 ms'],
  ])('%s -> %s', (input, masked) => {
    expect(maskContacts(input)).toBe(masked);
  });
});
