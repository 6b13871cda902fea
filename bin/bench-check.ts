/**
 * `npm run bench:check`: holds bench-results.json (from `npm run bench`) to
 * the performance budgets; exits 1 if any is missed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { checkBudgets } from '../bench/budgets.js';
import { RESULTS_FILE, type BenchResults } from '../bench/results.js';

if (!existsSync(RESULTS_FILE)) {
  process.stderr.write(`${RESULTS_FILE} not found: run \`npm run bench\` first.\n`);
  process.exit(1);
}
const results = JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as BenchResults;
const checks = checkBudgets(results);
console.table(checks.map((c) => ({ ok: c.ok ? 'ok' : 'MISSED', budget: c.budget, actual: c.actual, limit: c.limit })));
const missed = checks.filter((c) => !c.ok);
process.stdout.write(missed.length ? `\n${missed.length} of ${checks.length} budgets missed.\n` : `\nAll ${checks.length} budgets met.\n`);
process.exit(missed.length ? 1 : 0);
