/**
 * Operational metrics (core/metrics.ts, docs/operations.md): the log lines the
 * functions write anyway carry CloudWatch embedded metric format blocks, so a
 * login, a lockout, a refresh reuse and every send outcome are counted with
 * no extra call. Dimensions never name a user, a contact, a client or an IP.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { DependencyError } from '../../functions/errors.js';
import { emfFields } from '../../functions/core/metrics.js';
import type { UserRecord } from '../../functions/core/model.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as setPassword } from '../../functions/handlers/users-password-create.js';
import { handler as totpRegister } from '../../functions/handlers/auth-totp-register.js';
import { handler as totpRevoke } from '../../functions/handlers/users-totp-revoke.js';
import { createTestClient, createTestDeps, invoke, lastCode, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const PASSWORD = 'correct horse battery staple';
const IP = '203.0.113.7';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [field: string]: unknown;
}

let t: TestContext;
let token: string;
let ada: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ token } = await createTestClient(t.deps, { bind_sessions_to_ip: false }));
  ada = await seedUser(t.deps, { email: 'ada@example.com', phone_number: '+15551234567', username: 'ada', phone_number_verified: true });
  await invoke(setPassword, { token, params: { user_id: ada.user_id }, body: { password: PASSWORD } });
  t.logLines.length = 0;
});

/** The EMF lines written so far, parsed. */
function emfLines(): Emf[] {
  return t.logLines.map((line) => JSON.parse(line)).filter((line) => line._aws !== undefined);
}

/** Each metric a line declares, with the values of each of its dimension sets: `Name{dim=value,...}`. */
function counted(lines: Emf[] = emfLines()): string[] {
  return lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) =>
      directive.Metrics.flatMap((metric) => directive.Dimensions.map((set) => `${metric.Name}{${set.map((d) => `${d}=${String(line[d])}`).join(',')}}`)),
    ),
  );
}

const login = () => invoke(passwordAuthenticate, { token, body: { username: 'ada', password: PASSWORD, client_attributes: { ip_address: IP } } });

describe('a password + SMS login', () => {
  it('writes Authentications by method and outcome, the SMS delivered by calling code, and MfaReached once the second factor lands', async () => {
    const first = await login();
    expect(first.status).toBe(200);
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: ada.phone_number } });
    const second = await invoke(otpAuthenticate, {
      token,
      body: { identifier_type: 'phone_number', identifier: ada.phone_number, passcode: lastCode(t.outbox, ada.phone_number!), session_id: first.body.session_id },
    });
    expect(second.status).toBe(200);
    expect(counted()).toEqual([
      'Authentications{method=pwd,outcome=success}',
      'Authentications{outcome=success}',
      // The local queue delivers before the send answers: the sender counts the delivery, then the send its queueing.
      'Sends{channel=sms,outcome=delivered}',
      'Sends{outcome=delivered}',
      'Sends{channel=sms,outcome=delivered,calling_code=1}',
      'Sends{channel=sms,outcome=queued}',
      'Sends{outcome=queued}',
      'Sends{channel=sms,outcome=queued,calling_code=1}',
      'Authentications{method=sms,outcome=success}',
      'Authentications{outcome=success}',
      'MfaReached{method=sms}',
      'MfaReached{}',
    ]);
  });

  it('the metrics ride on the audit line itself, in the namespace of the deployment, timed by the event', async () => {
    t.deps.settings = { ...t.deps.settings, metricsNamespace: 'Twofold/prod' };
    const { LogAudit } = await import('../../functions/adapters/audit-log.js');
    t.deps.audit = new LogAudit(t.deps.logger, 'Twofold/prod');
    await login();
    const [line] = emfLines();
    expect(line).toMatchObject({ msg: 'audit', event: 'authentication', user_id: ada.user_id, ip: IP, method: 'pwd', outcome: 'success', mfa: false, Authentications: 1 });
    expect(line!._aws.Timestamp).toBe(t.clock.now());
    expect(line!._aws.CloudWatchMetrics.every((d) => d.Namespace === 'Twofold/prod')).toBe(true);
    expect(t.logLines.filter((l) => l.includes('"msg":"audit"'))).toHaveLength(1);
  });

  it('no dimension names a user, contact, client or IP, and no line carries a contact', async () => {
    await login();
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: ada.phone_number } });
    await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: 'ada@example.com' } });
    const dimensions = new Set(emfLines().flatMap((line) => line._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat())));
    expect([...dimensions].sort()).toEqual(['calling_code', 'channel', 'method', 'outcome']);
    const all = t.logLines.join('\n');
    expect(all).not.toContain(ada.phone_number);
    expect(all).not.toContain('ada@example.com');
  });
});

describe('attacks show up', () => {
  it('failed passwords are counted by outcome, and the tenth a Lockout', async () => {
    for (let i = 0; i < 10; i++) await invoke(passwordAuthenticate, { token, body: { username: 'ada', password: `wrong password ${i}` } });
    const names = counted();
    expect(names.filter((n) => n === 'Authentications{method=pwd,outcome=auth_invalid_credentials}').length).toBeGreaterThanOrEqual(9);
    expect(names.filter((n) => n.startsWith('Lockouts'))).toEqual(['Lockouts{method=pwd}', 'Lockouts{}']);
  });

  it('a reused refresh token is counted as RefreshTokenReuse', async () => {
    const first = await login();
    await invoke(refresh, { token, body: { refresh_token: first.body.refresh_token } });
    t.clock.advanceSeconds(60);
    t.logLines.length = 0;
    await invoke(refresh, { token, body: { refresh_token: first.body.refresh_token } });
    expect(counted()).toContain('RefreshTokenReuse{}');
  });

  it('sends are counted by outcome: limited, unknown and failed', async () => {
    const sms = (identifier: string) => invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier } });
    expect((await sms(ada.phone_number!)).status).toBe(200);
    expect((await sms(ada.phone_number!)).status).toBe(429);
    expect((await sms('+447700900123')).status).toBe(200);
    // SNS refuses the number for good: the send still answers 200 (its delivery is queued); the sender counts the failure.
    t.deps.sms = {
      sendSms: async () => {
        throw new DependencyError('sns', { permanent: true });
      },
    };
    t.clock.advanceSeconds(31);
    expect((await sms(ada.phone_number!)).status).toBe(200);
    expect(emfLines().filter((l) => l.msg === 'send').map((l) => [l.outcome, l.calling_code])).toEqual([
      ['delivered', '1'],
      ['queued', '1'],
      ['limited', undefined],
      ['unknown', undefined],
      ['failed', '1'],
      ['queued', '1'],
    ]);
  });
});

describe('the EMF lines', () => {
  it('are written at every log level but silent, so raising LOG_LEVEL never blinds the dashboard', () => {
    const lines: string[] = [];
    const logger = jsonLogger('warn', (line) => lines.push(line));
    logger.info('plain');
    logger.info('counted', emfFields('Twofold', 0, [{ name: 'X', dimensionSets: [[]] }], {}));
    jsonLogger('silent', (line) => lines.push(line)).info('counted', emfFields('Twofold', 0, [{ name: 'X', dimensionSets: [[]] }], {}));
    expect(lines.map((line) => JSON.parse(line).msg)).toEqual(['counted']);
  });

  it('leave out a dimension set whose value is missing, rather than write one CloudWatch would drop', () => {
    expect(emfFields('N', 1, [{ name: 'A', dimensionSets: [['method', 'outcome'], ['outcome']] }], { method: null, outcome: 'x' })).toEqual({
      _aws: { Timestamp: 1, CloudWatchMetrics: [{ Namespace: 'N', Dimensions: [['outcome']], Metrics: [{ Name: 'A', Unit: 'Count' }] }] },
      outcome: 'x',
      A: 1,
    });
    expect(emfFields('N', 1, [{ name: 'A', dimensionSets: [['method']] }], {})).toEqual({});
  });
});

describe('the factor lifecycle', () => {
  it('counts an enrolment, a refused enrolment and a removal by factor, never by user', async () => {
    const session = await login();
    // The phone is verified, so the user holds a second factor: adding an app needs a session with MFA.
    expect((await invoke(totpRegister, { token: session.body.access_token, body: {} })).status).toBe(403);
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: ada.phone_number } });
    const mfa = await invoke(otpAuthenticate, {
      token,
      body: { identifier_type: 'phone_number', identifier: ada.phone_number, passcode: lastCode(t.outbox, ada.phone_number!), session_id: session.body.session_id },
    });
    expect(mfa.status).toBe(200);
    expect((await invoke(totpRegister, { token: mfa.body.access_token, body: {} })).status).toBe(201);
    expect((await invoke(totpRevoke, { token, params: { user_id: ada.user_id }, body: {} })).status).toBe(204);
    const lifecycle = counted().filter((metric) => metric.startsWith('Enrolments') || metric.startsWith('FactorRemovals'));
    expect(lifecycle).toEqual(['Enrolments{method=otp,outcome=auth_mfa_required}', 'Enrolments{method=otp,outcome=success}', 'FactorRemovals{method=otp}']);
    for (const line of emfLines()) expect(line._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat())).not.toContain('user_id');
  });
});
