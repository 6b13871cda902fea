/**
 * `npm start`'s server writes the metric records of a login to its log: a
 * password + SMS login over HTTP leaves embedded-metric lines for the two
 * authentications, the SMS delivered and MFA reached (docs/operations.md).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';

let server: LocalServer;
const lines: string[] = [];

beforeAll(async () => {
  server = await startLocalServer({ port: 0, dynamoEndpoint: inject('dynamoEndpoint'), tableName: `e2e-metrics-${Date.now()}`, logger: jsonLogger('info', (line) => lines.push(line)) });
});

afterAll(async () => {
  await server?.close();
});

async function call(path: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

it('a password + SMS login writes Authentications, Sends and MfaReached records to the log', async () => {
  const token = (await call('/oidc/token', { grant_type: 'client_credentials', client_id: 'local-client', client_secret: 'local-secret' })).body.access_token as string;
  const phone = '+15550009876';
  expect((await call('/cis/v1/users', { username: 'metrics', phone_number: phone, credentials: { password: 'correct horse battery staple' } }, token)).status).toBe(201);
  const first = await call('/cis/v1/auth/password/authenticate', { username: 'metrics', password: 'correct horse battery staple' }, token);
  expect(first.status).toBe(200);
  expect((await call('/cis/v1/auth/otp/send', { channel: 'sms', identifier_type: 'phone_number', identifier: phone }, token)).status).toBe(200);
  const outbox = (await (await fetch(`${server.url}/local/outbox?to=${encodeURIComponent(phone)}`)).json()) as { messages: Array<{ code: string }> };
  const second = await call('/cis/v1/auth/otp/authenticate', { identifier_type: 'phone_number', identifier: phone, passcode: outbox.messages.at(-1)!.code, session_id: first.body.session_id }, token);
  expect(second.status).toBe(200);

  const records = lines.map((line) => JSON.parse(line)).filter((line) => line._aws !== undefined);
  const names = records.flatMap((r) => r._aws.CloudWatchMetrics.flatMap((d: { Metrics: Array<{ Name: string }> }) => d.Metrics.map((m) => m.Name)));
  expect(names).toEqual(expect.arrayContaining(['ClientAuthentications', 'Authentications', 'Sends', 'MfaReached']));
  expect(records.find((r) => r.MfaReached === 1)).toMatchObject({ msg: 'audit', event: 'authentication', method: 'sms', outcome: 'success', mfa: true });
  expect(records.find((r) => r.msg === 'send')).toMatchObject({ channel: 'sms', outcome: 'delivered', calling_code: '1', Sends: 1 });
  expect(lines.join('\n')).not.toContain(phone);
});
