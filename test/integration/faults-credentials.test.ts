/**
 * Faults at every step of the OTP, TOTP and magic-link logins, and of wrong
 * TOTP and OTP guesses:
 *
 * 1. No credential is consumed by a failed call: when the session cannot be
 *    written after the credential was consumed, authenticate() puts it back
 *    (CredentialCheck.undo), so the retry with the same code, link or step
 *    succeeds.
 * 2. A guess made while a dependency fails is never compared without being
 *    counted first.
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
