/**
 * `npm run bench`: measures an MFA login end to end against the local server
 * (the real handlers, the embedded DynamoDB over HTTP, OWASP scrypt), and
 * counts what each step costs in DynamoDB reads/writes and signatures (KMS
 * Sign calls in AWS). Bounded: ITERATIONS flows, sequential, loopback only.
 *
 *   npm run bench                 # 20 flows
 *   BENCH_ITERATIONS=50 npm run bench
 */
import { performance } from 'node:perf_hooks';
import { startLocalServer } from '../functions/adapters/local/server.js';
import { jsonLogger } from '../functions/adapters/logger.js';
import type { Signer, Store } from '../functions/ports.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ITERATIONS = Math.max(1, Math.min(500, Number(process.env.BENCH_ITERATIONS ?? 20)));

interface Counters {
  reads: number;
  writes: number;
  writeBytes: number;
  signs: number;
}
const counters: Counters = { reads: 0, writes: 0, writeBytes: 0, signs: 0 };

function countingStore(inner: Store): Store {
  return {
    get: (key) => {
      counters.reads += 1;
      return inner.get(key);
    },
    put: (key, value, options) => {
      counters.writes += 1;
      counters.writeBytes += JSON.stringify(value).length + key.length;
      return inner.put(key, value, options);
    },
    delete: (key, options) => {
      counters.writes += 1;
      return inner.delete(key, options);
    },
    increment: (key, by, options) => {
      counters.writes += 1;
      return inner.increment(key, by, options);
    },
    countAttempt: (key, options) => {
      counters.writes += 1;
      return inner.countAttempt(key, options);
    },
    getAttempts: (key) => {
      counters.reads += 1;
      return inner.getAttempts(key);
    },
    restartAttempts: (key, seen, next, expiresAt) => {
      counters.writes += 1;
      return inner.restartAttempts(key, seen, next, expiresAt);
    },
    uncountAttempt: (key, run) => {
      counters.writes += 1;
      return inner.uncountAttempt(key, run);
    },
  };
}

function countingSigner(inner: Signer): Signer {
  return {
    currentKeyId: () => inner.currentKeyId(),
    publicKeys: () => inner.publicKeys(),
    sign: (input) => {
      counters.signs += 1;
      return inner.sign(input);
    },
  };
}

const server = await startLocalServer({ port: 0, logger: jsonLogger('silent'), tableName: 'bench' });
server.deps.store = countingStore(server.deps.store);
server.deps.signer = countingSigner(server.deps.signer);

interface StepStats {
  ms: number[];
  reads: number;
  writes: number;
  writeBytes: number;
  signs: number;
}
const steps = new Map<string, StepStats>();

async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const before = { ...counters };
  const started = performance.now();
  const result = await run();
  const ms = performance.now() - started;
  const stats = steps.get(name) ?? { ms: [], reads: 0, writes: 0, writeBytes: 0, signs: 0 };
  stats.ms.push(ms);
  stats.reads += counters.reads - before.reads;
  stats.writes += counters.writes - before.writes;
  stats.writeBytes += counters.writeBytes - before.writeBytes;
  stats.signs += counters.signs - before.signs;
  steps.set(name, stats);
  return result;
}

async function post(path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

process.stdout.write(`Twofold bench: ${ITERATIONS} MFA logins (password + SMS OTP, refresh, logout) against ${server.url}\n`);
const token = (await post('/oidc/token', { grant_type: 'client_credentials', client_id: 'local-client', client_secret: 'local-secret' })).access_token as string;

for (let i = 0; i < ITERATIONS; i++) {
  const phone = `+1555${String(2000000 + i)}`;
  const password = 'correct horse battery staple';
  await step('users create (scrypt hash)', () => post('/cis/v1/users', { email: `bench${i}@example.com`, phone_number: phone, credentials: { password } }, token));
  const pwd = await step('password authenticate', () => post('/cis/v1/auth/password/authenticate', { username: `bench${i}@example.com`, username_type: 'email', password }, token));
  await step('otp send (sms)', () => post('/cis/v1/auth/otp/send', { channel: 'sms', identifier_type: 'phone_number', identifier: phone }, token));
  const code = server.outbox.last(phone)!.code!;
  const mfa = await step('otp authenticate (+session)', () => post('/cis/v1/auth/otp/authenticate', { passcode: code, identifier_type: 'phone_number', identifier: phone, session_id: pwd.session_id }, token));
  await step('token refresh', () => post('/cis/v1/auth/token/refresh', { refresh_token: mfa.refresh_token }, token));
  await step('session logout', () => post('/cis/v1/auth/session/logout', { session_id: pwd.session_id }, token));
  if ((i + 1) % 5 === 0 || i + 1 === ITERATIONS) process.stdout.write(`  ${i + 1}/${ITERATIONS} flows\n`);
}

const pct = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};
const rows = [...steps.entries()].map(([name, s]) => ({
  step: name,
  p50_ms: pct(s.ms, 50).toFixed(1),
  p95_ms: pct(s.ms, 95).toFixed(1),
  reads: (s.reads / s.ms.length).toFixed(1),
  writes: (s.writes / s.ms.length).toFixed(1),
  write_kb: (s.writeBytes / s.ms.length / 1024).toFixed(2),
  signs: (s.signs / s.ms.length).toFixed(1),
}));
console.table(rows);

const perFlow = [...steps.values()].reduce(
  (acc, s) => ({ reads: acc.reads + s.reads / s.ms.length, writes: acc.writes + s.writes / s.ms.length, signs: acc.signs + s.signs / s.ms.length }),
  { reads: 0, writes: 0, signs: 0 },
);
process.stdout.write(
  `\nPer MFA login flow: ${perFlow.reads.toFixed(1)} DynamoDB reads, ${perFlow.writes.toFixed(1)} writes, ${perFlow.signs.toFixed(1)} signatures.\n` +
    'Reads are strongly consistent; every write is one single-item conditional write (no transactions).\n' +
    'Latencies are local (dynalite, local key): they rank the steps, they do not predict AWS latency.\n',
);
await server.close();
