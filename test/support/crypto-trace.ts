/**
 * Counts the node:crypto calls of the code under test, so a test can assert
 * that two paths do the same cryptographic work (a decoy seed opened like a
 * real one, the same hashes and comparisons), exactly, where a stopwatch on a
 * shared machine could only say "about the same". A test file installs it with
 *
 *   vi.mock('node:crypto', async (original) => (await import('../support/crypto-trace.js')).tracedCrypto(await original()));
 *
 * and then wraps the calls it compares in `cryptoCalls(run)`. Only the
 * project's own modules see the traced module; libraries in node_modules
 * (otplib's HMAC, jose) keep the real one.
 */
let recording: string[] | undefined;

/** The functions whose first argument is an algorithm's name, noted with it; no other argument is ever noted (scrypt's first is the password). */
const NAMED_BY_ALGORITHM = new Set(['createHash', 'createHmac', 'createCipheriv', 'createDecipheriv', 'hkdf', 'hkdfSync', 'createSign', 'createVerify']);

/** node:crypto with every function wrapped to note its name (and its algorithm, for NAMED_BY_ALGORITHM). */
export function tracedCrypto<T extends Record<string, unknown>>(real: T): T {
  const traced: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(real)) {
    traced[name] =
      typeof value === 'function' && /^[a-z]/.test(name)
        ? function (this: unknown, ...args: unknown[]) {
            recording?.push(NAMED_BY_ALGORITHM.has(name) && typeof args[0] === 'string' ? `${name} ${args[0]}` : name);
            return (value as (...a: unknown[]) => unknown).apply(this, args);
          }
        : value;
  }
  return { ...traced, default: traced } as unknown as T;
}

/** The node:crypto calls `run` makes, in order. */
export async function cryptoCalls(run: () => Promise<unknown>): Promise<string[]> {
  const calls: string[] = [];
  recording = calls;
  try {
    await run();
  } finally {
    recording = undefined;
  }
  return calls;
}
