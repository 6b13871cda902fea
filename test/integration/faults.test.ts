/**
 * Contract sections 1 and 8 under every fault (test/support/fault-flows.ts):
 * each port fails or times out at each step of each flow → 503 with
 * Retry-After, no session without its tokens, no credential consumed, no
 * guess compared without being counted, and a retry succeeds.
 */
import { vi } from 'vitest';
import { describeFaults, describeGuessFaults } from '../support/fault-flows.js';

const compared = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../functions/core/passwords.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../functions/core/passwords.js')>();
  return {
    ...actual,
    verifyPassword: (password: string, encoded: string) => {
      compared.count += 1;
      return actual.verifyPassword(password, encoded);
    },
  };
});

describeFaults([
  'client credentials',
  'password login',
  'password added to a session',
  'email OTP send',
  'SMS OTP send',
  'magic link send',
  'email verification send',
  'phone verification',
  'session authenticate',
  'refresh',
  'logout',
]);

describeGuessFaults(['password'], () => compared.count);
