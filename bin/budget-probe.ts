/**
 * `npm run probe:budget`: a load probe of one client's send budget on the
 * local server (loopback only, embedded store): PROBE_DELIVERIES (default
 * 1,200, at most 5,000) OTP sends to as many users of ONE client, PROBE_CONCURRENCY
 * (default 20) at a time, bounded by PROBE_SECONDS (default 300). Every send
 * writes the client's budget; the probe shows none answered 5xx, every
 * delivery reached the outbox, and how the writes spread over the budget's
 * shards (core/send-budget.ts): the busiest shard's share of the writes is
 * what one DynamoDB item would see at the capacity target. Units taken can
 * exceed deliveries only by takes an SDK retry repeated after an ambiguous
 * timeout (the safe side); never fall short of them.
 */
import { randomBytes } from 'node:crypto';
import { startLocalServer } from '../functions/adapters/local/server.js';
import { jsonLogger } from '../functions/adapters/logger.js';
import { createClient } from '../functions/core/clients.js';
import { BUDGET_SHARDS, BUDGET_WINDOW_MS, budgetShardKey } from '../functions/core/send-budget.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DELIVERIES = Math.min(5000, Math.max(1000, Number(process.env.PROBE_DELIVERIES ?? 1200)));
const CONCURRENCY = Math.min(64, Math.max(1, Number(process.env.PROBE_CONCURRENCY ?? 20)));
const DEADLINE = Date.now() + Math.min(900, Number(process.env.PROBE_SECONDS ?? 300)) * 1000;
/** The capacity target the shard count is sized for: sends per second of one client. */
const TARGET_SENDS_PER_SECOND = 150;

const server = await startLocalServer({ port: 0, host: '127.0.0.1', logger: jsonLogger('silent'), seedClient: false });
const secret = randomBytes(16).toString('hex');
await createClient(server.deps.store, Date.now(), { name: 'probe', client_id: 'probe', client_secret: secret, redirect_uris: ['https://probe.example/cb'], send_budget_per_hour: DELIVERIES * 2 });

async function post(path: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

async function pool<T>(count: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count && Date.now() < DEADLINE) {
        const i = next++;
        results[i] = await run(i);
      }
    }),
  );
  return results.filter((r) => r !== undefined);
}

const token = (await post('/oidc/token', { grant_type: 'client_credentials', client_id: 'probe', client_secret: secret })).body.access_token as string;
const phone = (i: number) => `+1555${String(1_000_000 + i).slice(1)}`;
process.stdout.write(`Creating ${DELIVERIES} users of one client...\n`);
const created = await pool(DELIVERIES, (i) => post('/cis/v1/users', { phone_number: phone(i) }, token));
if (created.some((r) => r.status !== 201)) throw new Error(`user creation failed: ${created.find((r) => r.status !== 201)!.status}`);

process.stdout.write(`Sending ${DELIVERIES} SMS codes, ${CONCURRENCY} at a time...\n`);
const started = performance.now();
const answers = await pool(DELIVERIES, (i) => post('/cis/v1/auth/otp/send', { channel: 'sms', identifier_type: 'phone_number', identifier: phone(i) }, token));
const seconds = (performance.now() - started) / 1000;

const statuses = new Map<number, number>();
for (const a of answers) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
const window = Math.floor(Date.now() / BUDGET_WINDOW_MS);
const shards = await Promise.all(Array.from({ length: BUDGET_SHARDS }, (_, s) => server.deps.store.increment(budgetShardKey('probe', window, s), 0)));
const taken = shards.reduce((a, b) => a + b, 0);
const busiest = Math.max(...shards) / Math.max(1, taken);
const fiveXX = answers.filter((a) => a.status >= 500).length;
// The outbox keeps the latest 1,000 messages; the queue counts every delivery.
const delivered = server.queue.outcomes.filter((o) => o === 'delivered').length;

console.table([
  { figure: 'sends answered', value: answers.length },
  { figure: 'status counts', value: [...statuses].map(([s, n]) => `${s}: ${n}`).join(', ') },
  { figure: '5xx answers', value: fiveXX },
  { figure: 'deliveries in the outbox', value: delivered },
  { figure: 'budget units taken (all shards)', value: taken },
  { figure: 'units per shard', value: shards.join(' / ') },
  { figure: 'busiest shard share of budget writes', value: `${(busiest * 100).toFixed(1)}%` },
  { figure: `writes/s on the busiest budget item at ${TARGET_SENDS_PER_SECOND} sends/s`, value: (busiest * TARGET_SENDS_PER_SECOND).toFixed(1) },
  { figure: 'sends per second here (loopback, embedded store)', value: (answers.length / seconds).toFixed(1) },
]);
await server.close();
// Never fewer units than deliveries. More only when an SDK retry repeated a take whose first attempt had landed
// (an ambiguous timeout on a loaded machine): the safe side, as SECURITY.md says of give-backs.
const ok = answers.length >= 1000 && fiveXX === 0 && delivered === answers.length && taken >= delivered;
process.stdout.write(ok ? `OK: no 5xx, every send delivered and counted (${taken - delivered} units over, from retried takes).\n` : 'FAILED\n');
process.exit(ok ? 0 : 1);
