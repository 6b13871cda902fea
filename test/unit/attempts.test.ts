import { describe, expect, it } from 'vitest';
import { counterTtl, judgeCounter, type AttemptPolicy } from '../../functions/core/attempts.js';

const NOW = Date.UTC(2026, 0, 15, 12);
const MIN = 60_000;
const CHANNEL: AttemptPolicy = { limit: 10, idleMs: 15 * MIN, lockMs: 15 * MIN };
const CODE: AttemptPolicy = { limit: 5 };
const counter = (count: number, last_at: number) => ({ run: 'r1', count, last_at });

describe('judging a guess counter', () => {
  it('a missing counter starts a new run', () => {
    expect(judgeCounter(undefined, CHANNEL, NOW)).toEqual({ kind: 'restart' });
  });

  it('below the limit, an attempt counts on the current run', () => {
    expect(judgeCounter(counter(9, NOW - MIN), CHANNEL, NOW)).toEqual({ kind: 'count' });
  });

  it('a pause of the idle time ends the run: counted up to 1 ms before, restarted at', () => {
    expect(judgeCounter(counter(9, NOW - 15 * MIN + 1), CHANNEL, NOW)).toEqual({ kind: 'count' });
    expect(judgeCounter(counter(9, NOW - 15 * MIN), CHANNEL, NOW)).toEqual({ kind: 'restart' });
  });

  it('at the limit, every attempt is refused until the lock time after the attempt that reached it', () => {
    expect(judgeCounter(counter(10, NOW), CHANNEL, NOW)).toEqual({ kind: 'locked', retryAfterMs: 15 * MIN });
    expect(judgeCounter(counter(10, NOW - 15 * MIN + 1), CHANNEL, NOW)).toEqual({ kind: 'locked', retryAfterMs: 1 });
    expect(judgeCounter(counter(10, NOW - 15 * MIN), CHANNEL, NOW)).toEqual({ kind: 'restart' });
  });

  it('a counter long past its TTL, still stored, is judged by its times alone', () => {
    expect(judgeCounter(counter(10, NOW - 3 * 24 * 60 * MIN), CHANNEL, NOW)).toEqual({ kind: 'restart' });
  });

  it('without a lock time, a used-up counter refuses for good, with no Retry-After', () => {
    expect(judgeCounter(counter(5, NOW - 24 * 60 * MIN), CODE, NOW)).toEqual({ kind: 'locked' });
    expect(judgeCounter(counter(4, NOW - 24 * 60 * MIN), CODE, NOW)).toEqual({ kind: 'count' });
  });

  it('the table may delete a counter a day after neither its pause nor its lock can matter', () => {
    expect(counterTtl(CHANNEL, NOW)).toBe(Math.ceil((NOW + 15 * MIN) / 1000) + 86_400);
  });
});
