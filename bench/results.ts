/** The shape of bench-results.json (written by `npm run bench`, read by `npm run bench:check`). */
import type { FunctionFigures } from './functions.js';
import type { FlowFigures } from './flows.js';
import type { Capacity } from './capacity.js';

export const RESULTS_FILE = 'bench-results.json';

export interface BenchResults {
  measured_at: string;
  node: string;
  samples_per_function: number;
  iterations_per_flow: number;
  functions: FunctionFigures[];
  flows: FlowFigures[];
  cost_per_million_two_factor_logins_usd: {
    without_messaging: number;
    with_messaging: number;
    prices_as_of: string;
    breakdown: Record<string, number>;
    memory_mb: number;
  };
  /** Password + SMS two-factor logins a second a default deployment accepts (bench/capacity.ts), and what binds it. */
  capacity_two_factor_logins_per_second: number;
  capacity_bottleneck: string;
  capacity: Capacity;
}
