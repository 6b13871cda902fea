/**
 * Test wiring: the real DynamoDB store over HTTP against the embedded dynalite
 * (a fresh table per call), the local signer, a captured outbox and a clock
 * the test moves by hand instead of sleeping.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { inject } from 'vitest';
import { DynamoDbStore, ensureTable } from '../../functions/adapters/aws/dynamodb-store.js';
import { dynamoClientFor } from '../../functions/adapters/local/embedded-dynamodb.js';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import { LocalDeliveryQueue } from '../../functions/adapters/local/local-queue.js';
import { Outbox } from '../../functions/adapters/local/outbox.js';
import { LogAudit } from '../../functions/adapters/audit-log.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { createClient, type CreateClientInput } from '../../functions/core/clients.js';
import { issueClientToken } from '../../functions/core/tokens.js';
import type { Deps } from '../../functions/core/deps.js';
import type { ClientRecord } from '../../functions/core/model.js';
import type { HttpResult } from '../../functions/http/endpoint.js';
import type { Clock } from '../../functions/ports.js';
import { installDeps } from '../../functions/runtime.js';

/** A clock the test sets and advances; starts at a fixed instant. */
export class TestClock implements Clock {
  constructor(public current = Date.UTC(2026, 0, 15, 12, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
  advanceSeconds(seconds: number): void {
    this.current += seconds * 1000;
  }
}

/** Cheap scrypt cost for tests; the OWASP default is asserted separately. */
export const TEST_SCRYPT = { N: 2 ** 12, r: 8, p: 1 };

export interface TestContext {
  deps: Deps;
  clock: TestClock;
  outbox: Outbox;
  /** The delivery queue: delivers at once through the sender's code; `redeliverDue()` after moving the clock plays SQS's retries. */
  queue: LocalDeliveryQueue;
  store: DynamoDbStore;
  logLines: string[];
}

export async function createTestDeps(overrides: Partial<Deps> = {}): Promise<TestContext> {
  const endpoint = inject('dynamoEndpoint');
  const tableName = `t-${randomUUID()}`;
  const client = dynamoClientFor(endpoint);
  await ensureTable(client, tableName);
  const clock = new TestClock();
  const outbox = new Outbox(clock);
  const store = new DynamoDbStore(client, tableName);
  const logLines: string[] = [];
  const logger = jsonLogger('info', (line) => logLines.push(line));
  const queue = new LocalDeliveryQueue(() => deps);
  const deps: Deps = {
    store,
    queue,
    mailer: outbox,
    sms: outbox,
    signer: new LocalSigner(),
    clock,
    logger,
    audit: new LogAudit(logger),
    settings: { issuer: 'https://twofold.test', appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: TEST_SCRYPT },
    hashKey: randomBytes(32),
    totpKeys: { current: '1', keys: { '1': randomBytes(32) } },
    userTokenKeys: { current: '1', keys: { '1': randomBytes(32) } },
    ...overrides,
  };
  installDeps(deps);
  return { deps, clock, outbox, queue, store, logLines };
}

export async function createTestClient(deps: Deps, input: Partial<CreateClientInput> = {}): Promise<{ client: ClientRecord; secret: string; token: string }> {
  const { client, client_secret } = await createClient(deps.store, deps.clock.now(), {
    name: 'test client',
    redirect_uris: ['https://app.example/callback'],
    ...input,
  });
  const { access_token } = await issueClientToken(deps, client);
  return { client, secret: client_secret, token: access_token };
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

export interface InvokeOptions {
  token?: string;
  body?: unknown;
  rawBody?: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
}

/** Calls a handler the way API Gateway (HTTP API, payload 2.0) would. */
export async function invoke(handler: Handler, options: InvokeOptions = {}): Promise<{ status: number; body: any; headers: Record<string, string> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const event = {
    version: '2.0',
    routeKey: 'test',
    rawPath: '/test',
    rawQueryString: '',
    headers,
    pathParameters: options.params,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    isBase64Encoded: false,
    requestContext: { requestId: randomUUID(), http: { method: 'POST', path: '/test', sourceIp: '127.0.0.1' } },
  } as unknown as APIGatewayProxyEventV2;
  const result = await handler(event, {} as Context);
  return {
    status: result.statusCode,
    body: result.body ? JSON.parse(result.body) : undefined,
    headers: (result.headers ?? {}) as Record<string, string>,
  };
}

/**
 * Verifies an ID token as a relying party would: ES256 against the published
 * keys, with issuer, audience and typ pinned, at the test clock's time.
 */
export async function verifyIdToken(deps: Deps, idToken: string, audience: string) {
  const jwks = createLocalJWKSet({ keys: await deps.signer.publicKeys() });
  return jwtVerify(idToken, jwks, {
    algorithms: ['ES256'],
    issuer: deps.settings.issuer,
    audience,
    typ: 'JWT',
    currentDate: new Date(deps.clock.now()),
  });
}

/** The claims of a verified ID token. */
export async function idTokenClaims(deps: Deps, idToken: string, audience: string) {
  return (await verifyIdToken(deps, idToken, audience)).payload;
}

/** The code of the last message the outbox captured for `to`. */
export function lastCode(outbox: Outbox, to: string): string {
  const code = outbox.last(to)?.code;
  if (!code) throw new Error(`nothing was sent to ${to}`);
  return code;
}

/** A six-digit code that differs from `code`. */
export function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

/**
 * Widens the race window: signing (a KMS call in AWS) takes 50 ms, so every
 * concurrent call has checked its credential before the first one commits.
 */
export function slowSigning(deps: Deps): void {
  const sign = deps.signer.sign.bind(deps.signer);
  deps.signer.sign = async (input) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    return sign(input);
  };
}
