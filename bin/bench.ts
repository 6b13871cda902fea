/**
 * `npm run bench`: what a cold start and a login cost, each figure beside its
 * floor in the same run. A script, not a test: the figures depend on the
 * machine; their ratios are what the budgets (`npm run bench:check`) judge.
 *
 *   npm run bench                          # every function, every flow
 *   BENCH_SAMPLES=15 BENCH_ITERATIONS=30 npm run bench
 *   BENCH_ONLY='^auth-' npm run bench      # only the functions whose route name matches
 *
 * Writes bench-results.json (git-ignored).
 */
import { writeFileSync } from 'node:fs';
import { capacityOf } from '../bench/capacity.js';
import { costPerMillion, PRICES } from '../bench/cost.js';
import { FLOWS, measureFlow, startBench } from '../bench/flows.js';
import { measureFunctions } from '../bench/functions.js';
import { RESULTS_FILE, type BenchResults } from '../bench/results.js';
import { DEFAULT_MEMORY_MB } from '../lib/constructs/endpoint-function.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SAMPLES = Math.max(10, Math.min(51, Number(process.env.BENCH_SAMPLES ?? 11)));
const ITERATIONS = Math.max(5, Math.min(200, Number(process.env.BENCH_ITERATIONS ?? 20)));
const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;

const progress = (line: string) => {
  if (process.stdout.isTTY) process.stdout.write(`\r${line.padEnd(70).slice(0, 70)}`);
};

process.stdout.write(`Cold starts: every function bundled as the stack bundles it; median of ${SAMPLES} fresh Node processes each, interleaved with its SDK floor and an empty handler.\n`);
const functions = await measureFunctions(SAMPLES, only, progress);
if (process.stdout.isTTY) process.stdout.write(`\r${' '.repeat(70)}\r`);
console.table(
  functions.map((f) => ({
    function: f.name,
    kb: Math.round(f.bytes / 1024),
    gzip_kb: Math.round(f.gzip_bytes / 1024),
    cold_import_ms: f.cold_import_ms,
    sdk_floor_ms: f.sdk_floor_ms,
    'x floor': f.sdk_clients.length ? (f.cold_import_ms / f.sdk_floor_ms).toFixed(2) : '-',
    empty_ms: f.empty_ms,
    'x empty': (f.cold_import_ms / f.empty_ms).toFixed(2),
    floor_clients: f.sdk_clients.join('+') || '(none)',
  })),
);

process.stdout.write(`\nFlows: ${ITERATIONS} warm runs each, in process, requests counted by SDK middleware on the real DynamoDB and KMS clients.\n`);
const bench = await startBench();
const flows = [];
for (const flow of FLOWS) {
  progress(`flow: ${flow.name}`);
  flows.push(await measureFlow(bench, flow, ITERATIONS));
}
await bench.close();
if (process.stdout.isTTY) process.stdout.write(`\r${' '.repeat(70)}\r`);
console.table(
  flows.map((f) => ({
    flow: f.name,
    dynamodb_requests: f.dynamodb_requests,
    rru: f.dynamodb_rru,
    wru: f.dynamodb_wru,
    kms_sign: f.kms_sign,
    kms_other: f.kms_other,
    sign_concurrency: f.kms_sign_max_concurrent,
    p50_ms: f.p50_ms,
    p99_ms: f.p99_ms,
  })),
);

const login = flows.find((f) => f.name === 'password + SMS two-factor login')!;
const cost = costPerMillion(login, { memoryMb: DEFAULT_MEMORY_MB });
process.stdout.write(
  `\nCost per million password + SMS two-factor logins (${PRICES.region}, on-demand prices as of ${PRICES.as_of}, ${DEFAULT_MEMORY_MB} MB arm64):\n` +
    `  without messaging  $${cost.without_messaging.toFixed(2)}\n` +
    `  with messaging     $${cost.with_messaging.toFixed(2)}   (one SMS per login)\n` +
    `  breakdown          ${Object.entries(cost.breakdown).map(([k, v]) => `${k} $${v.toFixed(2)}`).join(', ')}\n`,
);

// Capacity at default quotas, from this run's counts and durations (bench/capacity.ts).
const capacity = capacityOf(login);
process.stdout.write(
  `\nCapacity at default AWS quotas (as of ${capacity.quotas_as_of}): ${capacity.logins_per_second} password + SMS logins/s accepted, bound by ${capacity.bottleneck}\n`,
);
console.table([...capacity.bounds, ...capacity.delivery.map((d) => ({ ...d, quota: `${d.quota} [delivery]` }))]);

const results: BenchResults = {
  measured_at: new Date().toISOString(),
  node: process.version,
  samples_per_function: SAMPLES,
  iterations_per_flow: ITERATIONS,
  functions,
  flows,
  cost_per_million_two_factor_logins_usd: {
    without_messaging: cost.without_messaging,
    with_messaging: cost.with_messaging,
    prices_as_of: PRICES.as_of,
    breakdown: cost.breakdown,
    memory_mb: DEFAULT_MEMORY_MB,
  },
  capacity_two_factor_logins_per_second: capacity.logins_per_second,
  capacity_bottleneck: capacity.bottleneck,
  capacity,
};
writeFileSync(RESULTS_FILE, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nWrote ${RESULTS_FILE}. Check the budgets with: npm run bench:check\n`);
process.exit(0);
