/**
 * Warm per-flow figures, measured in process through the real handlers: the
 * store is the real DynamoDB adapter on a real DynamoDBClient (to the embedded
 * dynalite), the signer the real KMS adapter on a real KMSClient. SDK
 * middleware on those clients counts every request, the DynamoDB capacity
 * units each one consumed, and how many KMS Sign calls were in flight at once.
 * KMS itself cannot run here: a terminal middleware answers GetPublicKey and
 * Sign with a local P-256 key, after the count.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { kindOfKey, restrictDeps } from '../functions/access.js';
import { DynamoDbStore } from '../functions/adapters/aws/dynamodb-store.js';
import { KmsSigner } from '../functions/adapters/aws/kms-signer.js';
import { startEmbeddedDynamoDb } from '../functions/adapters/local/embedded-dynamodb.js';
import { Outbox } from '../functions/adapters/local/outbox.js';
import { OWASP_SCRYPT } from '../functions/adapters/local/server.js';
import { LogAudit } from '../functions/adapters/audit-log.js';
import { jsonLogger } from '../functions/adapters/logger.js';
import { createClient, getClientCached } from '../functions/core/clients.js';
import { keyedHash } from '../functions/core/crypto.js';
import type { Deps } from '../functions/core/deps.js';
import { keys } from '../functions/core/model.js';
import type { HttpResult } from '../functions/http/endpoint.js';
import { jwkFromSpki } from '../functions/published-keys.js';
import { deliverQueued } from '../functions/core/delivery-sender.js';
import type { DeliveryQueue } from '../functions/ports.js';
import { routeNamed } from '../functions/routes.js';
import { DELIVERY_SENDER } from '../functions/workers.js';
import { installDeps } from '../functions/runtime.js';
import { FakeKmsKey } from '../test/support/fake-kms-key.js';
import { SoftAuthenticator } from '../test/support/soft-authenticator.js';
import { round } from './functions.js';

export interface FlowFigures {
  name: string;
  /** DynamoDB requests per flow (GetItem, PutItem, UpdateItem, DeleteItem …). */
  dynamodb_requests: number;
  kms_sign: number;
  kms_other: number;
  p50_ms: number;
  p99_ms: number;
  /** Mean read and write request units per flow (on-demand billing units, by item size). */
  dynamodb_rru: number;
  dynamodb_wru: number;
  /** Most KMS Sign calls in flight at once during the flow. */
  kms_sign_max_concurrent: number;
  /** Lambda invocations (HTTP API requests) per flow, and their mean in-process milliseconds each. */
  invocations: Array<{ route: string; ms: number }>;
  emails: number;
  sms: number;
  /** Most writes one run made to a single item that other runs (other users' logins) wrote too, and its kind. */
  /**
   * The item most written by many runs (other users' logins), its kind, its writes in a run that writes it, and the
   * share of runs that write it (below 1 for a sharded counter: each login writes one shard of several).
   */
  dynamodb_shared_hot_key?: { kind: string; writes_per_flow: number; runs_share?: number };
  /** Deliveries put on the queue per flow (SQS SendMessage), decoys included. */
  sqs_messages: number;
  /** Of dynamodb_requests, those the delivery sender made (its check of the code record), off the response path. */
  sender_dynamodb_requests: number;
}

interface Counters {
  dynamodb: number;
  rru: number;
  wru: number;
  kmsSign: number;
  kmsOther: number;
  signInFlight: number;
  signMaxInFlight: number;
}

const counters: Counters & { sqsMessages: number; senderDynamodb: number } = { dynamodb: 0, rru: 0, wru: 0, kmsSign: 0, kmsOther: 0, signInFlight: 0, signMaxInFlight: 0, sqsMessages: 0, senderDynamodb: 0 };

/** The route name the delivery sender's invocations are reported under. */
export const SENDER_INVOCATION = DELIVERY_SENDER.name;

/**
 * The delivery queue as the bench measures it: each enqueue is counted (one
 * SQS SendMessage) and kept; `drain` then runs the delivery sender's code on
 * each, timed as an invocation of its own (the sender is its own Lambda),
 * with its DynamoDB reads counted in the flow.
 */
function benchQueue(deps: () => Deps, timed: (route: string, run: () => Promise<unknown>) => Promise<unknown>): DeliveryQueue & { drain(): Promise<void> } {
  const pending: string[] = [];
  return {
    async enqueue(body) {
      counters.sqsMessages += 1;
      pending.push(body);
    },
    async drain() {
      while (pending.length) {
        const body = pending.shift()!;
        const before = counters.dynamodb;
        await timed(SENDER_INVOCATION, () => deliverQueued(restrictDeps(deps(), DELIVERY_SENDER), body, { attempt: 1 }));
        counters.senderDynamodb += counters.dynamodb - before;
      }
    },
  };
}

/** Item keys each counted run wrote, per run (capacity model: a key many logins write is a hot partition). */
let writtenKeys: Map<string, number> | undefined;

/** Records the partition keys a write names (PutItem's item, UpdateItem's and DeleteItem's key). */
function noteKeys(input: Record<string, unknown>, write: boolean): void {
  if (!write || !writtenKeys) return;
  const pk = ((input.Item ?? input.Key) as { pk?: { S?: string } } | undefined)?.pk?.S;
  if (pk !== undefined) writtenKeys.set(pk, (writtenKeys.get(pk) ?? 0) + 1);
}

/**
 * The key that the most writes of one run went to among keys written by
 * more than one run (so by many users' logins at once: a client's send
 * budget, say), by record kind: DynamoDB's per-partition write limit over
 * its writes per login bounds the logins a second (a counter split into
 * shards, by the share of logins that write the busiest shard).
 */
function sharedHotKey(runs: Array<Map<string, number>>): { kind: string; writes_per_flow: number; runs_share: number } | undefined {
  const runsOf = new Map<string, number>();
  for (const run of runs) for (const key of run.keys()) runsOf.set(key, (runsOf.get(key) ?? 0) + 1);
  let hot: { kind: string; writes_per_flow: number; runs_share: number } | undefined;
  for (const run of runs) {
    for (const [key, writes] of run) {
      const share = (runsOf.get(key) ?? 0) / runs.length;
      // Writes a second on the item per login a second: its writes in a run, times the share of runs that write it.
      if ((runsOf.get(key) ?? 0) < 2 || (hot && hot.writes_per_flow * hot.runs_share >= writes * share)) continue;
      hot = { kind: kindOfKey(key) ?? 'unknown', writes_per_flow: writes, runs_share: Math.round(share * 100) / 100 };
    }
  }
  return hot;
}

/** Counts every DynamoDB request and the capacity it consumed (a failed conditional write still costs one write unit). */
function countDynamoDb(client: DynamoDBClient): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      counters.dynamodb += 1;
      const input = args.input as Record<string, unknown>;
      input.ReturnConsumedCapacity = 'TOTAL';
      const isRead = context.commandName === 'GetItemCommand' || context.commandName === 'BatchGetItemCommand';
      noteKeys(input, !isRead);
      try {
        const result = await next(args);
        // A batch reports its capacity per table, in a list.
        const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } | Array<{ CapacityUnits?: number }> }).ConsumedCapacity;
        const units = (Array.isArray(consumed) ? consumed.reduce((sum, table) => sum + (table.CapacityUnits ?? 0), 0) : consumed?.CapacityUnits) || 1;
        if (isRead) counters.rru += units;
        else counters.wru += units;
        return result;
      } catch (error) {
        if (isRead) counters.rru += 1;
        else counters.wru += 1;
        throw error;
      }
    },
    { step: 'initialize', name: 'benchCountDynamoDb' },
  );
}

/** A real KMSClient whose requests are counted, then answered by a local key instead of the network. */
function localKms(key: FakeKmsKey, keyId: string): KMSClient {
  const client = new KMSClient({ region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      const input = args.input as { Message?: Uint8Array };
      if (context.commandName === 'SignCommand') {
        counters.kmsSign += 1;
        counters.signInFlight += 1;
        counters.signMaxInFlight = Math.max(counters.signMaxInFlight, counters.signInFlight);
        // Let concurrent signs overlap, as network calls would.
        await new Promise((resolve) => setImmediate(resolve));
        counters.signInFlight -= 1;
        return { output: { KeyId: keyId, Signature: key.signDigest(input.Message!), SigningAlgorithm: 'ECDSA_SHA_256', $metadata: {} }, response: {} } as never;
      }
      counters.kmsOther += 1;
      if (context.commandName === 'GetPublicKeyCommand') {
        return { output: { KeyId: keyId, PublicKey: key.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', $metadata: {} }, response: {} } as never;
      }
      throw new Error(`bench KMS does not answer ${context.commandName}`);
    },
    { step: 'initialize', name: 'benchLocalKms' },
  );
  return client;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;
const handlers = new Map<string, Handler>();
async function handlerOf(route: string): Promise<Handler> {
  if (!handlers.has(route)) handlers.set(route, ((await import(`../functions/handlers/${route}.ts`)) as { handler: Handler }).handler);
  return handlers.get(route)!;
}

const lambdaContext = { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => 10_000 } as unknown as Context;

export interface Bench {
  deps: Deps;
  outbox: Outbox;
  clientToken: string;
  /** Invokes a route's handler as API Gateway would; throws unless 2xx. Timed into the current flow. */
  call(route: string, body: unknown, token?: string): Promise<any>;
  /**
   * Moves the injected clock `ms` forward, then (uncounted, as a busy
   * deployment's other traffic would) gets a fresh client token and reads the
   * client into the instance's client cache, which the jump aged out.
   */
  advanceClock(ms: number): Promise<void>;
  close(): Promise<void>;
}

let current: { invocations: Array<{ route: string; ms: number }> } | undefined;

export async function startBench(): Promise<Bench> {
  const tableName = `bench-${randomUUID()}`;
  const dynamo = await startEmbeddedDynamoDb(tableName);
  countDynamoDb(dynamo.client);
  const kmsKeyId = 'arn:aws:kms:us-east-1:123456789012:key/bench';
  const kmsKey = new FakeKmsKey(kmsKeyId);
  const outbox = new Outbox({ now: () => Date.now() });
  let clockOffset = 0;
  const timed = async (route: string, run: () => Promise<unknown>) => {
    const started = performance.now();
    const result = await run();
    current?.invocations.push({ route, ms: performance.now() - started });
    return result;
  };
  const queue = benchQueue(() => deps, timed);
  const deps: Deps = {
    store: new DynamoDbStore(dynamo.client, tableName),
    queue,
    // As deployed: the public keys come from the environment (put in at deploy time), so only Sign reaches KMS.
    signer: new KmsSigner(localKms(kmsKey, kmsKeyId), { keyId: kmsKeyId, publicKeys: [jwkFromSpki(kmsKey.spki)] }),
    mailer: outbox,
    sms: outbox,
    clock: { now: () => Date.now() + clockOffset },
    logger: jsonLogger(process.env.BENCH_LOG ? 'info' : 'silent'),
    audit: new LogAudit(jsonLogger('silent')),
    settings: { issuer: 'https://bench.twofold.test', appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: { ...OWASP_SCRYPT } },
    hashKey: randomBytes(32),
    totpKeys: { current: '1', keys: { '1': randomBytes(32) } },
    userTokenKeys: { current: '1', keys: { '1': randomBytes(32) } },
  };
  installDeps(deps);
  await createClient(deps.store, Date.now(), {
    name: 'bench',
    client_id: 'bench-client',
    client_secret: 'bench-secret',
    redirect_uris: ['https://app.example/callback'],
    send_budget_per_hour: 1_000_000,
    sms_budget_per_hour: 1_000_000,
    bind_sessions_to_ip: false,
    webauthn_rp_id: PASSKEY_RP_ID,
    webauthn_rp_name: 'Bench',
    webauthn_origins: [PASSKEY_ORIGIN],
  });
  const call = async (route: string, body: unknown, token?: string) => {
    const handler = await handlerOf(route);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const event = {
      version: '2.0',
      routeKey: route,
      rawPath: '/bench',
      rawQueryString: '',
      headers,
      body: JSON.stringify(body),
      isBase64Encoded: false,
      requestContext: { requestId: randomUUID(), http: { method: 'POST', path: '/bench', sourceIp: '127.0.0.1' } },
    } as unknown as APIGatewayProxyEventV2;
    const result = (await timed(route, () => handler(event, lambdaContext))) as HttpResult;
    // What the send enqueued is delivered by the sender before the flow goes on (it reads the outbox).
    await queue.drain();
    if (result.statusCode >= 300) throw new Error(`${route} answered ${result.statusCode}: ${result.body}`);
    return result.body ? JSON.parse(result.body) : undefined;
  };
  const issueClientToken = async () =>
    (await call('oidc-token', { grant_type: 'client_credentials', client_id: 'bench-client', client_secret: 'bench-secret' })).access_token as string;
  const bench: Bench = {
    deps,
    outbox,
    clientToken: await issueClientToken(),
    call,
    async advanceClock(ms) {
      clockOffset += ms;
      bench.clientToken = await issueClientToken();
      // Each route's function has its own cache (keyed by its own view of the store): warm the ones in use.
      for (const route of handlers.keys()) await getClientCached(restrictDeps(deps, routeNamed(route)), 'bench-client');
    },
    close: () => dynamo.stop(),
  };
  return bench;
}

export interface FlowDefinition {
  name: string;
  /** Untimed, uncounted set-up for iteration `i` (users, an earlier login). */
  prepare(bench: Bench, i: number): Promise<unknown>;
  /** The counted flow. */
  run(bench: Bench, prepared: any, i: number): Promise<void>;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** How long after its prepare (an earlier login, a sign-up) a flow's user comes back. */
export const RETURN_AFTER_MS = 16 * 60 * 1000;

/** Runs a flow `iterations` times after one warm-up run, and reports per-flow means and latency percentiles. */
export async function measureFlow(bench: Bench, flow: FlowDefinition, iterations: number): Promise<FlowFigures> {
  const totals: number[] = [];
  const perRoute = new Map<string, number[]>();
  const sums = { dynamodb: 0, rru: 0, wru: 0, kmsSign: 0, kmsOther: 0, emails: 0, sms: 0, sqsMessages: 0, senderDynamodb: 0 };
  let maxConcurrent = 0;
  const keyRuns: Array<Map<string, number>> = [];
  for (let i = -1; i < iterations; i++) {
    const prepared = await flow.prepare(bench, i + 1000 * flow.name.length);
    // The user comes back later, not moments after the prepare's login: a returning user last logged in more
    // than 15 minutes ago (past the 15-minute OTP and send windows). Every flow's run is measured so.
    await bench.advanceClock(RETURN_AFTER_MS);
    const before = { ...counters };
    const messagesBefore = bench.outbox.list();
    counters.signMaxInFlight = 0;
    current = { invocations: [] };
    writtenKeys = new Map();
    const started = performance.now();
    await flow.run(bench, prepared, i);
    const ms = performance.now() - started;
    const invocations = current.invocations;
    current = undefined;
    const keysWritten = writtenKeys;
    writtenKeys = undefined;
    if (i < 0) continue; // warm-up
    keyRuns.push(keysWritten);
    totals.push(ms);
    for (const { route, ms: callMs } of invocations) perRoute.set(route, [...(perRoute.get(route) ?? []), callMs]);
    sums.dynamodb += counters.dynamodb - before.dynamodb;
    sums.rru += counters.rru - before.rru;
    sums.wru += counters.wru - before.wru;
    sums.kmsSign += counters.kmsSign - before.kmsSign;
    sums.kmsOther += counters.kmsOther - before.kmsOther;
    sums.sqsMessages += counters.sqsMessages - before.sqsMessages;
    sums.senderDynamodb += counters.senderDynamodb - before.senderDynamodb;
    const sent = bench.outbox.list().slice(messagesBefore.length);
    sums.emails += sent.filter((m) => m.channel === 'email').length;
    sums.sms += sent.filter((m) => m.channel === 'sms').length;
    maxConcurrent = Math.max(maxConcurrent, counters.signMaxInFlight);
  }
  const mean = (n: number) => round(n / iterations);
  return {
    name: flow.name,
    dynamodb_requests: mean(sums.dynamodb),
    kms_sign: mean(sums.kmsSign),
    kms_other: mean(sums.kmsOther),
    p50_ms: round(percentile(totals, 50)),
    p99_ms: round(percentile(totals, 99)),
    dynamodb_rru: mean(sums.rru),
    dynamodb_wru: mean(sums.wru),
    kms_sign_max_concurrent: maxConcurrent,
    invocations: [...perRoute].map(([route, values]) => ({ route, ms: round(percentile(values, 50)) })),
    emails: mean(sums.emails),
    sms: mean(sums.sms),
    ...(sharedHotKey(keyRuns) && { dynamodb_shared_hot_key: sharedHotKey(keyRuns) }),
    sqs_messages: mean(sums.sqsMessages),
    sender_dynamodb_requests: mean(sums.senderDynamodb),
  };
}

const PASSWORD = 'correct horse battery staple';
const PASSKEY_ORIGIN = 'https://app.example';
const PASSKEY_RP_ID = 'app.example';

async function createUser(bench: Bench, i: number, password = false) {
  const email = `bench${i}-${randomUUID().slice(0, 8)}@example.com`;
  const phone = `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
  await bench.call('users-create', { email, phone_number: phone, ...(password && { credentials: { password: PASSWORD } }) }, bench.clientToken);
  return { email, phone };
}

/**
 * A user with a password and a passkey on a software authenticator: a password
 * login gives the user token that registration needs (start, then finish with
 * the authenticator's answer).
 */
async function createPasskeyUser(bench: Bench, i: number) {
  const user = await createUser(bench, i, true);
  const session = await bench.call('auth-password', { username: user.email, username_type: 'email', password: PASSWORD }, bench.clientToken);
  const authenticator = new SoftAuthenticator(PASSKEY_ORIGIN);
  const { credential_creation_options } = await bench.call('auth-webauthn-register-start', {}, session.access_token);
  await bench.call('auth-webauthn-register', { webauthn_encoded_result: authenticator.create(credential_creation_options) }, session.access_token);
  return { ...user, authenticator };
}

/** Passkey start and finish: usernameless (the browser offers its discoverable passkey), or bound to a password session. */
async function passkeyLogin(bench: Bench, authenticator: SoftAuthenticator, second?: { username: string; session_id: string }) {
  const { credential_request_options } = await bench.call('auth-webauthn-authenticate-start', second ? { username: second.username } : {}, bench.clientToken);
  const webauthn_encoded_result = authenticator.get(credential_request_options);
  await bench.call('auth-webauthn-authenticate', { webauthn_encoded_result, ...(second && { session_id: second.session_id }) }, bench.clientToken);
}

async function passwordSmsLogin(bench: Bench, user: { email: string; phone: string }) {
  const first = await bench.call('auth-password', { username: user.email, username_type: 'email', password: PASSWORD }, bench.clientToken);
  await bench.call('auth-otp-send', { channel: 'sms', identifier_type: 'phone_number', identifier: user.phone }, bench.clientToken);
  const passcode = bench.outbox.last(user.phone)!.code!;
  await bench.call('auth-otp-authenticate', { passcode, identifier_type: 'phone_number', identifier: user.phone, session_id: first.session_id }, bench.clientToken);
}

/**
 * Drops the send logs an untimed login left for `phone` (the user's SMS log,
 * kept on their code record, and the one keyed by the request), as if that
 * login were 15 minutes old: a returning user's next send is then neither
 * throttled nor dropped, at the same cost (one conditional write each, log or
 * no log).
 */
async function forgetSendLogs(bench: Bench, phone: string) {
  const hash = (text: string) => keyedHash(bench.deps.hashKey, text);
  const claim = await bench.deps.store.get<{ user_id: string }>(keys.phoneClaim(phone));
  await bench.deps.store.delete(keys.otp(claim!.value.user_id, 'sms'));
  await bench.deps.store.delete(keys.sendRequestRate(hash(`sms|phone_number|${phone}`)));
}

/** The flows the issue names. */
export const FLOWS: FlowDefinition[] = [
  {
    // A returning user's login: the untimed first login verified the phone number (a one-time user write).
    name: 'password + SMS two-factor login',
    async prepare(bench, i) {
      const user = await createUser(bench, i, true);
      await passwordSmsLogin(bench, user);
      await forgetSendLogs(bench, user.phone);
      return user;
    },
    run: (bench, user: { email: string; phone: string }) => passwordSmsLogin(bench, user),
  },
  {
    // The very first login also marks the phone number verified: one user write more, once per user.
    name: 'password + SMS two-factor login, first login',
    prepare: (bench, i) => createUser(bench, i, true),
    run: (bench, user: { email: string; phone: string }) => passwordSmsLogin(bench, user),
  },
  {
    name: 'email OTP login',
    prepare: (bench, i) => createUser(bench, i),
    async run(bench, user: { email: string }) {
      await bench.call('auth-otp-send', { channel: 'email', identifier_type: 'email', identifier: user.email }, bench.clientToken);
      const passcode = bench.outbox.last(user.email)!.code!;
      await bench.call('auth-otp-authenticate', { passcode, identifier_type: 'email', identifier: user.email }, bench.clientToken);
    },
  },
  {
    name: 'magic-link login',
    prepare: (bench, i) => createUser(bench, i),
    async run(bench, user: { email: string }) {
      await bench.call('auth-link-send', { identifier_type: 'email', identifier: user.email, redirect_uri: 'https://app.example/callback' }, bench.clientToken);
      const code = new URL(bench.outbox.last(user.email)!.link!).searchParams.get('code');
      await bench.call('auth-link-authenticate', { code }, bench.clientToken);
    },
  },
  {
    name: 'passkey login',
    prepare: (bench, i) => createPasskeyUser(bench, i),
    async run(bench, user: { authenticator: SoftAuthenticator }) {
      await passkeyLogin(bench, user.authenticator);
    },
  },
  {
    name: 'password + passkey two-factor login',
    prepare: (bench, i) => createPasskeyUser(bench, i),
    async run(bench, user: { email: string; authenticator: SoftAuthenticator }) {
      const first = await bench.call('auth-password', { username: user.email, username_type: 'email', password: PASSWORD }, bench.clientToken);
      await passkeyLogin(bench, user.authenticator, { username: user.email, session_id: first.session_id });
    },
  },
  {
    name: 'refresh',
    async prepare(bench, i) {
      const user = await createUser(bench, i);
      await bench.call('auth-otp-send', { channel: 'email', identifier_type: 'email', identifier: user.email }, bench.clientToken);
      const passcode = bench.outbox.last(user.email)!.code!;
      return bench.call('auth-otp-authenticate', { passcode, identifier_type: 'email', identifier: user.email }, bench.clientToken);
    },
    async run(bench, tokens: { refresh_token: string }) {
      await bench.call('auth-token-refresh', { refresh_token: tokens.refresh_token }, bench.clientToken);
    },
  },
];
