/**
 * PENDING: fault cases that fail on this branch, kept for the lead to enable
 * after merging (rename to test/integration/faults-after-merge.test.ts).
 *
 * 1. Credentials consumed by a failed call: authenticate() consumes the
 *    credential (commit) before it writes the session; when that last write
 *    fails, the caller gets 503 but the OTP, link or TOTP step is already
 *    used, so the retry is refused. Contract section 1: "no OTP consumed by a
 *    failed call". Needs a rollback of the commit when the session write fails
 *    (or an order that makes the consume the last write).
 * 2. Wrong OTP, TOTP and verification guesses compared before they are
 *    counted: when the write that records the failure fails, the guess was
 *    compared but never counted (issue 7, item 1; the `guesses` branch moves
 *    the count before the comparison).
 */
import { vi } from 'vitest';
import { describeFaults, describeGuessFaults } from '../support/fault-flows.js';

const compared = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../functions/core/crypto.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/core/crypto.js')>();
  return {
    ...actual,
    constantTimeEqual: (a: string, b: string) => {
      compared.count += 1;
      return actual.constantTimeEqual(a, b);
    },
  };
});

describeFaults(['email OTP login', 'SMS OTP added to a session', 'magic link login', 'TOTP login']);

describeGuessFaults(['email OTP', 'TOTP', 'email verification'], () => compared.count);
