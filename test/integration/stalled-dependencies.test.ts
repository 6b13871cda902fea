/**
 * A stalled dependency (a process paused, not dead: the socket accepts and
 * never answers) must answer 503 service_unavailable with Retry-After before
 * the invocation runs out of time, through the real SDK clients with the
 * options every Lambda uses, and locally as in AWS.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/aws/dynamodb-store.js';
import { KmsSigner } from '../../functions/adapters/aws/kms-signer.js';
import { ATTEMPT_TIMEOUT_MS, awsClientOptions, DeadlineRetryStrategy, SDK_MAX_ATTEMPTS } from '../../functions/adapters/aws/sdk-options.js';
import { SesMailer } from '../../functions/adapters/aws/ses-mailer.js';
import { SnsSmsSender } from '../../functions/adapters/aws/sns-sms.js';
import { readHashKey } from '../../functions/adapters/aws/secrets.js';
import { dynamoClientFor } from '../../functions/adapters/local/embedded-dynamodb.js';
import { startLocalServer } from '../../functions/adapters/local/server.js';
import { ANSWER_MARGIN_MS, withDeadline } from '../../functions/deadline.js';
import { DependencyError } from '../../functions/errors.js';
import { handler as usersGet } from '../../functions/handlers/users-get.js';
import type { Store } from '../../functions/ports.js';
import { installDeps } from '../../functions/runtime.js';
import { createTestClient, createTestDeps, invoke } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

/** A TCP endpoint that accepts connections and never answers, like a paused process. */
async function stalledEndpoint(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => accepted,
    close: () => closeServer(server, sockets),
  };
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A TCP proxy to `target` that can be paused: while paused it accepts and forwards nothing. */
async function pausableProxy(target: string): Promise<{ url: string; pause: () => void; resume: () => void; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let paused = false;
  const { connect } = await import('node:net');
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    if (paused) return;
    const upstream = connect(Number(port), hostname);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    client.on('data', (chunk) => {
      if (!paused) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!paused) client.write(chunk);
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pause: () => {
      paused = true;
    },
    resume: () => {
      paused = false;
    },
    close: () => closeServer(server, sockets),
  };
}

const lambdaContext = (remainingMs: number) => {
  const deadline = Date.now() + remainingMs;
  return { getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as Context;
};

let stalled: Awaited<ReturnType<typeof stalledEndpoint>>;
beforeAll(async () => {
  stalled = await stalledEndpoint();
});
afterAll(() => stalled.close());

describe('a stalled DynamoDB through the real handler', () => {
  it('answers 503 service_unavailable with Retry-After before the invocation runs out of time', async () => {
    const t = await createTestDeps();
    const { token } = await createTestClient(t.deps);
    const user = await seedUser(t.deps, { email: 'ada@example.com' });
    const paused = new DynamoDbStore(dynamoClientFor(stalled.url), 'paused');
    // The client record still comes from the live table, so the request gets past authentication.
    const store: Store = {
      get: (key) => (key.startsWith('client#') ? t.deps.store.get(key) : paused.get(key)),
      getMany: (keys) => paused.getMany(keys),
      keysOwnedBy: (owner, limit) => paused.keysOwnedBy(owner, limit),
      put: (key, value, options) => paused.put(key, value, options),
      delete: (key, options) => paused.delete(key, options),
      increment: (key, by, options) => paused.increment(key, by, options),
      countAttempt: (key, options) => paused.countAttempt(key, options),
      getAttempts: (key) => paused.getAttempts(key),
      restartAttempts: (key, seen, next, expiresAt) => paused.restartAttempts(key, seen, next, expiresAt),
      uncountAttempt: (key, run, options) => paused.uncountAttempt(key, run, options),
      countGuess: (key, options) => paused.countGuess(key, options),
      uncountGuess: (key, version) => paused.uncountGuess(key, version),
      overwrite: (key, value, options) => paused.overwrite(key, value, options),
      logSendOnRecord: (key, log, expiresAt) => paused.logSendOnRecord(key, log, expiresAt),
      getRecordSendLog: (key) => paused.getRecordSendLog(key),
    };
    installDeps({ ...t.deps, store });

    const remainingMs = ANSWER_MARGIN_MS + 1_000;
    const event = await invokeWithContext(usersGet, token, { user_id: user.user_id }, lambdaContext(remainingMs));
    expect(event.result.status).toBe(503);
    expect(event.result.body).toEqual({ error_code: 'service_unavailable', message: expect.any(String) });
    expect(event.result.headers['Retry-After']).toBe('1');
    expect(event.elapsedMs).toBeLessThan(remainingMs);
    const logged = t.logLines.map((l) => JSON.parse(l) as { msg: string; dependency?: string }).find((l) => l.msg === 'dependency failure');
    expect(logged?.dependency).toBe('dynamodb');
  });
});

async function invokeWithContext(handler: typeof usersGet, token: string, params: Record<string, string>, context: Context) {
  const started = Date.now();
  const result = await invoke((event) => handler(event, context), { token, params });
  return { result, elapsedMs: Date.now() - started };
}

describe('the local server with its store paused mid-run', () => {
  it('answers 503 with Retry-After while the store is paused, and serves again once it resumes', async () => {
    const proxy = await pausableProxy(inject('dynamoEndpoint'));
    const server = await startLocalServer({
      port: 0,
      dynamoEndpoint: proxy.url,
      tableName: `stall-${Date.now()}`,
      functionTimeoutSeconds: 2,
      logger: { info() {}, warn() {}, error() {} },
      seedClient: { client_id: 'stall', client_secret: 'stall-secret', redirect_uris: [] },
    });
    try {
      const tokenResponse = await fetch(`${server.url}/oidc/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=stall&client_secret=stall-secret',
      });
      const { access_token } = (await tokenResponse.json()) as { access_token: string };
      const get = () => fetch(`${server.url}/cis/v1/users/nobody`, { headers: { authorization: `Bearer ${access_token}` } });
      expect((await get()).status).toBe(404);

      proxy.pause();
      const started = Date.now();
      const stalledResponse = await get();
      expect(stalledResponse.status).toBe(503);
      expect(stalledResponse.headers.get('retry-after')).toBe('1');
      expect(((await stalledResponse.json()) as { error_code: string }).error_code).toBe('service_unavailable');
      expect(Date.now() - started).toBeLessThan(2_000);

      proxy.resume();
      expect((await get()).status).toBe(404);
    } finally {
      await server.close();
      await proxy.close();
    }
  });
});

describe('every other AWS adapter against a stalled endpoint', () => {
  const clientConfig = () => ({
    ...awsClientOptions(),
    endpoint: stalled.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

  /** Runs `call` with a deadline `budgetMs` away; it must fail as a DependencyError by then (plus the answer margin). */
  async function failsInTime(dependency: string, call: () => Promise<unknown>, budgetMs = 600) {
    const started = Date.now();
    const error = await withDeadline(started + budgetMs, () => call().then(() => undefined, (e: unknown) => e));
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as DependencyError).dependency).toBe(dependency);
    expect(Date.now() - started).toBeLessThan(budgetMs + ANSWER_MARGIN_MS);
  }

  it('KMS Sign and GetPublicKey fail as DependencyError (503) by the deadline', async () => {
    const signer = new KmsSigner(new KMSClient(clientConfig()), { keyId: 'alias/twofold' });
    await failsInTime('kms', () => signer.sign(new Uint8Array([1, 2, 3])));
    await failsInTime('kms', () => signer.publicKeys());
  });

  it('SES SendEmail fails as DependencyError (503) by the deadline', async () => {
    const mailer = new SesMailer(new SESClient(clientConfig()), { fromAddress: 'no-reply@twofold.example' });
    await failsInTime('ses', () => mailer.sendEmail({ to: 'ada@example.com', subject: 's', text: 't', html: 'h' }));
  });

  it('SNS Publish fails as DependencyError (503) by the deadline', async () => {
    const sms = new SnsSmsSender(new SNSClient(clientConfig()));
    await failsInTime('sns', () => sms.sendSms({ to: '+15551234567', text: 't' }));
  });

  it('Secrets Manager GetSecretValue fails as DependencyError (503) by the deadline', async () => {
    await failsInTime('secretsmanager', () => readHashKey(new SecretsManagerClient(clientConfig()), 'hash-key'));
  });

  it('gives up on a stalled attempt after ATTEMPT_TIMEOUT_MS and retries while the deadline leaves room for another', async () => {
    const before = stalled.connections();
    // A first attempt of ATTEMPT_TIMEOUT_MS, then a second cut short by the deadline, and no third.
    await failsInTime('ses', () => new SesMailer(new SESClient(clientConfig()), { fromAddress: 'a@b.example' }).sendEmail({ to: 'x@y.example', subject: 's', text: 't', html: 'h' }), ATTEMPT_TIMEOUT_MS + 1_000);
    // Each timeout destroys its socket, so every attempt opens a connection of its own.
    const attempts = stalled.connections() - before;
    expect(attempts).toBe(2);
    expect(attempts).toBeLessThan(SDK_MAX_ATTEMPTS);
  });
});

describe('the retry strategy', () => {
  const strategy = new DeadlineRetryStrategy();
  type ErrorType = 'TRANSIENT' | 'THROTTLING' | 'CLIENT_ERROR' | 'SERVER_ERROR';
  const failure = (errorType: ErrorType) => ({ errorType, error: new Error(errorType) as never });
  const transient = failure('TRANSIENT');

  it('retries throttling and transient failures, never client or server faults', async () => {
    const first = await strategy.acquireInitialRetryToken();
    await expect(strategy.refreshRetryTokenForRetry(first, transient)).resolves.toBeTruthy();
    await expect(strategy.refreshRetryTokenForRetry(first, failure('THROTTLING'))).resolves.toBeTruthy();
    await expect(strategy.refreshRetryTokenForRetry(first, failure('CLIENT_ERROR'))).rejects.toThrow();
    await expect(strategy.refreshRetryTokenForRetry(first, failure('SERVER_ERROR'))).rejects.toThrow();
  });

  it(`stops after ${SDK_MAX_ATTEMPTS} attempts`, async () => {
    let token = await strategy.acquireInitialRetryToken();
    for (let attempt = 1; attempt < SDK_MAX_ATTEMPTS; attempt++) token = await strategy.refreshRetryTokenForRetry(token, transient);
    expect(token.getRetryCount()).toBe(SDK_MAX_ATTEMPTS - 1);
    await expect(strategy.refreshRetryTokenForRetry(token, transient)).rejects.toThrow();
  });

  it('starts no retry the deadline could not fit', async () => {
    const token = await strategy.acquireInitialRetryToken();
    await expect(withDeadline(Date.now() + 10, () => strategy.refreshRetryTokenForRetry(token, transient))).rejects.toThrow();
  });
});
