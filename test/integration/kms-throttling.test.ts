/**
 * When busy signing routes together call KMS Sign faster than the account's
 * ECC quota, KMS throttles (ThrottlingException). Through the real handlers
 * and the real KMS adapter on a KMSClient stubbed with aws-sdk-client-mock:
 * every throttled call answers 503 service_unavailable with Retry-After,
 * leaves nothing half-done (no session, no consumed code, link or refresh
 * token, no guess used up), logs the line the KmsThrottles alarm counts, and
 * the same request succeeds once KMS answers again.
 */
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../functions/adapters/aws/kms-signer.js';
import type { ClientRecord } from '../../functions/core/model.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as passwordAuthenticate } from '../../functions/handlers/auth-password.js';
import { handler as refresh } from '../../functions/handlers/auth-token-refresh.js';
import { handler as usersCreate } from '../../functions/handlers/users-create.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { jwkFromSpki } from '../../functions/published-keys.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { proxyStore } from '../support/store-proxy.js';

const KEY = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111');
const kms = mockClient(KMSClient);
const PASSWORD = 'correct horse battery staple';
const REDIRECT = 'https://app.example/callback';

let t: TestContext;
let client: ClientRecord;
let clientSecret: string;
let token: string;
let writes: string[];

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400, requestId: 'req-throttled' } });
}

/** KMS answers Sign with the fake key (as the real key would) unless `throttling`. */
function kmsAnswers(throttling: boolean): void {
  kms.reset();
  if (throttling) kms.on(SignCommand).rejects(throttled());
  else kms.on(SignCommand).callsFake(({ Message }: { Message: Uint8Array }) => ({ KeyId: KEY.keyId, Signature: KEY.signDigest(Message), SigningAlgorithm: 'ECDSA_SHA_256' }));
}

function expectThrottled503(res: { status: number; body: any; headers: Record<string, string> }): void {
  expect(res.status).toBe(503);
  expect(res.body).toEqual({ error_code: 'service_unavailable', message: expect.any(String) });
  expect(res.headers['Retry-After']).toBe('1');
}

/** Exactly the command the adapter sends: one Sign of a digest with the signing key, per throttled request. */
function expectSignCalls(count: number): void {
  expect(kms.calls().map((call) => call.args[0].constructor.name)).toEqual(Array(count).fill('SignCommand'));
  for (const call of kms.commandCalls(SignCommand)) {
    expect(call.args[0].input).toEqual({ KeyId: KEY.keyId, Message: expect.any(Uint8Array), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' });
  }
}

/** Writes of records other than guess counts (counted guesses are given back, checked by the retries below). */
const recordWrites = () => writes.filter((key) => !key.startsWith('guesses of '));

beforeEach(async () => {
  kmsAnswers(false);
  t = await createTestDeps();
  t.deps.signer = new KmsSigner(new KMSClient({ region: 'us-east-1' }), { keyId: KEY.keyId, publicKeys: [jwkFromSpki(KEY.spki)] });
  ({ client, secret: clientSecret, token } = await createTestClient(t.deps));
  await invoke(usersCreate, { token, body: { email: 'ada@example.com', phone_number: '+15551234567', credentials: { password: PASSWORD } } });
  writes = [];
  const store = t.deps.store;
  t.deps.store = proxyStore(store, (op, key) => {
    if (op === 'countGuess' || op === 'uncountGuess' || op === 'countAttempt' || op === 'uncountAttempt' || op === 'restartAttempts') writes.push(`guesses of ${key}`);
    else if (op !== 'get' && op !== 'getMany' && op !== 'getAttempts' && op !== 'getRecordSendLog' && op !== 'keysOwnedBy') writes.push(key);
  });
});

afterAll(() => {
  kms.restore();
});

describe('KMS throttling Sign', () => {
  it('a password login answers 503 with Retry-After and creates no session; twelve throttled tries use up none of the ten guesses', async () => {
    kmsAnswers(true);
    const body = { username: 'ada@example.com', username_type: 'email', password: PASSWORD };
    for (let i = 0; i < 12; i++) expectThrottled503(await invoke(passwordAuthenticate, { token, body }));
    expectSignCalls(12);
    expect(recordWrites().filter((key) => key.startsWith('session#'))).toEqual([]);
    const lines = t.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === 'dependency failure');
    expect(lines).toHaveLength(12);
    // What the KmsThrottles metric filter matches (test/infra/stack.test.ts).
    for (const line of lines) expect(line).toMatchObject({ dependency: 'kms', cause: expect.stringMatching(/^ThrottlingException/) });

    kmsAnswers(false);
    const res = await invoke(passwordAuthenticate, { token, body });
    expect(res.status).toBe(200);
    expect(res.body.session_id).toBeTruthy();
  });

  it('an SMS OTP login answers 503, joins no session and does not consume the code; the same code works once KMS answers', async () => {
    const first = await invoke(passwordAuthenticate, { token, body: { username: 'ada@example.com', username_type: 'email', password: PASSWORD } });
    await invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: '+15551234567' } });
    const passcode = t.outbox.last('+15551234567')!.code!;
    const body = { passcode, identifier_type: 'phone_number', identifier: '+15551234567', session_id: first.body.session_id };
    kmsAnswers(true);
    writes.length = 0;
    expectThrottled503(await invoke(otpAuthenticate, { token, body }));
    expectSignCalls(1);
    expect(recordWrites()).toEqual([]);

    kmsAnswers(false);
    const res = await invoke(otpAuthenticate, { token, body });
    expect(res.status).toBe(200);
    expect(res.body.session_id).toBe(first.body.session_id);
  });

  it('a magic-link login answers 503 and the link stays usable', async () => {
    await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: 'ada@example.com', redirect_uri: REDIRECT } });
    const code = new URL(t.outbox.last('ada@example.com')!.link!).searchParams.get('code')!;
    kmsAnswers(true);
    writes.length = 0;
    expectThrottled503(await invoke(linkAuthenticate, { token, body: { code } }));
    expect(recordWrites().filter((key) => key.startsWith('session#'))).toEqual([]);
    kmsAnswers(false);
    expect((await invoke(linkAuthenticate, { token, body: { code } })).status).toBe(200);
  });

  it('a refresh answers 503 and rotates nothing: the same refresh token works after, and is not taken for reuse', async () => {
    const login = await invoke(passwordAuthenticate, { token, body: { username: 'ada@example.com', username_type: 'email', password: PASSWORD } });
    kmsAnswers(true);
    writes.length = 0;
    expectThrottled503(await invoke(refresh, { token, body: { refresh_token: login.body.refresh_token } }));
    expectSignCalls(1);
    expect(recordWrites()).toEqual([]);
    kmsAnswers(false);
    const res = await invoke(refresh, { token, body: { refresh_token: login.body.refresh_token } });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).not.toBe(login.body.refresh_token);
  });

  it('the token endpoint answers 503 with Retry-After', async () => {
    kmsAnswers(true);
    expectThrottled503(await invoke(oidcToken, { body: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: clientSecret } }));
    expectSignCalls(1);
  });
});
