/**
 * Timing parity of two paths (a registered identifier and one naming no
 * one), measured as an attacker would: many requests, medians compared,
 * never an absolute threshold. The runs go in pairs, side by side so both
 * see the same load on the machine, and which of the pair starts first
 * alternates: the one that starts second waits behind the first one's
 * synchronous work, and on a loaded machine that head start alone once made
 * the later path look 10% slower.
 */
export interface Parity {
  known: number;
  unknown: number;
  /** |known - unknown| / max(known, unknown), of the medians. */
  spread: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** Runs `known(i)` and `unknown(i)` side by side for i < runs, and compares the median times. */
export async function medianParity(runs: number, known: (i: number) => Promise<unknown>, unknown: (i: number) => Promise<unknown>): Promise<Parity> {
  const k: number[] = [];
  const u: number[] = [];
  for (let i = 0; i < runs; i++) {
    const runKnown = () => timed(() => known(i));
    const runUnknown = () => timed(() => unknown(i));
    const [tk, tu] = i % 2 === 0 ? await Promise.all([runKnown(), runUnknown()]) : (await Promise.all([runUnknown(), runKnown()])).reverse();
    k.push(tk!);
    u.push(tu!);
  }
  const [mk, mu] = [median(k), median(u)];
  return { known: mk, unknown: mu, spread: Math.abs(mk - mu) / Math.max(mk, mu) };
}
