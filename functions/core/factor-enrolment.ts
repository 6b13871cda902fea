/**
 * Who may add a factor (contract section 10; SECURITY.md "Adding a factor").
 * A new factor is bound only at the assurance the account already has
 * (NIST SP 800-63B): to add or replace one you must first prove the factors
 * the user already holds.
 *
 * The rule, for registering a passkey, registering or replacing an
 * authenticator app, and generating recovery codes:
 *
 * 1. The factor classes the user holds (core/mfa.ts FACTOR_CLASS): a password
 *    (knowledge), a verified email (email), a verified phone number (phone),
 *    an authenticator app, confirmed or pending (a pending one's first code is
 *    accepted as a login, so it can give MFA), a passkey, recovery codes with
 *    at least one unused. An unverified contact proves nothing yet. A pending
 *    app does not count against registering an app, which replaces it (a
 *    user who lost the QR code before using it starts again); a working one
 *    does (replacing it, `allow_override`, is adding a factor).
 * 2. Together with the classes the session itself proved, fewer than two:
 *    the user has no second factor to skip, and the session may bootstrap
 *    one (a password-only user adds a first passkey from a password session).
 *    Recovery codes are never a bootstrap: they always need MFA.
 * 3. Otherwise the session must hold authentications of two factor classes
 *    within the client's `enrolment_max_age_seconds` (default 900, judged as
 *    OIDC `max_age`: an authentication exactly that old is still fresh).
 *    Two *classes*, whatever the client's MFA policy: a factor is the user's
 *    at every client, so it is bound at the strictest policy (email OTP +
 *    magic link is MFA at a `distinct_methods` client, but adds no factor).
 *
 * Refused: 403 `auth_mfa_required`, nothing stored. The rule is judged on
 * the user as this request read it, and again on the user record inside the
 * conditional write that adds the factor: of concurrent first enrolments from
 * one password session, the first write wins and every other one finds the
 * user holding a second factor, so at most one bootstrap ever lands.
 *
 * The session must still work at that write too (401, nothing stored): a
 * password replaced, every session logged out or the user disabled while
 * the enrolment was on its way moved the credential version on in the user
 * record, so the write that adds the factor finds the session over. Else an
 * attacker thrown out by the owner binds a factor of their own just after.
 * Recovery codes live in a record of their own: their write is followed by
 * a read of the session and its user, and undone if either says it is over.
 *
 * IP binding: a user access token of a session bound to an IP works here
 * only with that IP in `client_attributes` (403 `session_binding_mismatch`).
 */
import { MfaRequiredError, SessionBindingMismatchError, SessionNotFoundError, UnauthorizedError } from '../errors.js';
import { emitAudit, outcomeOf } from './audit.js';
import type { Deps } from './deps.js';
import { amrClaimsOf, amrOf, FACTOR_CLASS } from './mfa.js';
import { keys, type AuthMethod, type ClientRecord, type SessionRecord, type UserRecord } from './model.js';
import { CLIENT_DEFAULTS } from './clients.js';
import { checkBinding, isSessionLive, loadLiveSession, type ClientAttributes } from './sessions.js';
import type { UserPrincipal } from './user-tokens.js';

/** The factor being added, by its `amr` value. */
export type EnrolledMethod = Extract<AuthMethod, 'webauthn' | 'otp' | 'recovery_code'>;

type FactorClass = (typeof FACTOR_CLASS)[AuthMethod];

/** Recovery codes as the enrolment rule needs to know them: whether any unused one is left. */
export interface RecoveryHolding {
  unused: boolean;
}

/** The factor classes `user` holds (rule 1), leaving out a pending app that enrolling `method` would replace. */
export function heldFactorClasses(user: UserRecord, recovery: RecoveryHolding, method: EnrolledMethod): Set<FactorClass> {
  const held = new Set<FactorClass>();
  if (user.password) held.add('knowledge');
  if (user.email !== undefined && user.email_verified) held.add('email');
  if (user.phone_number !== undefined && user.phone_number_verified) held.add('phone');
  const pending = user.totp?.last_used_step === undefined;
  if (user.totp && !(method === 'otp' && pending)) held.add('authenticator');
  if ((user.webauthn_credentials ?? []).length > 0) held.add('passkey');
  if (recovery.unused) held.add('recovery');
  return held;
}

export function enrolmentMaxAgeOf(client: ClientRecord): number {
  return client.enrolment_max_age_seconds ?? CLIENT_DEFAULTS.enrolment_max_age_seconds;
}

/**
 * Whether `session` may add `method` to `user` at `now` (rules 2 and 3);
 * undefined when it may, else why not.
 */
export function enrolmentRefusal(
  client: ClientRecord,
  session: Pick<SessionRecord, 'authentications'>,
  user: UserRecord,
  recovery: RecoveryHolding,
  method: EnrolledMethod,
  now: number,
): string | undefined {
  const classes = heldFactorClasses(user, recovery, method);
  for (const { method: proved } of session.authentications) classes.add(FACTOR_CLASS[proved]);
  if (method !== 'recovery_code' && classes.size < 2) return undefined;
  const maxAge = enrolmentMaxAgeOf(client);
  if (amrClaimsOf(session, 'factor_classes', { now, maxAge }).amr.includes('mfa')) return undefined;
  const minutes = Math.round(maxAge / 60);
  const window = maxAge % 60 === 0 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${maxAge} seconds`;
  return method === 'recovery_code'
    ? `Generating recovery codes needs a session holding MFA (two factor classes) within the last ${window}; add a second factor to the session first`
    : `The user already holds a second factor: prove two factor classes within the last ${window} (step up with the factors the user has) before adding one`;
}

/** Whether the user has recovery codes left, read now. */
export async function readRecoveryHolding(deps: Pick<Deps, 'store'>, userId: string): Promise<RecoveryHolding> {
  const set = await deps.store.get<{ codes: Array<{ used_at?: number }> }>(keys.recoveryCodes(userId));
  return { unused: set?.value.codes.some((c) => c.used_at === undefined) ?? false };
}

/** One `factor_enrolment` audit event, with the session's `amr`. */
export async function auditEnrolment(deps: Deps, principal: UserPrincipal, method: EnrolledMethod, outcome: string, ip: string | undefined): Promise<void> {
  await emitAudit(deps, {
    event: 'factor_enrolment',
    user_id: principal.user.user_id,
    client_id: principal.client.client_id,
    method,
    ip: ip ?? null,
    outcome,
    amr: amrOf(principal.record.value, principal.client.mfa_policy),
  });
}

/** What an enrolment learned up front, to judge the rule again at its write. */
export interface EnrolmentGate {
  /** Throws `auth_mfa_required` unless the session may add the factor to `user` as it is now (call inside the write). */
  recheck(user: UserRecord, now: number): void;
  /** Audits the outcome of the enrolment (success, or the error it ended with). */
  done(outcome: 'success' | unknown): Promise<void>;
}

/**
 * The checks every enrolment makes before anything is stored: the session's
 * IP binding, then the rule above on the user as this request read it.
 * Refusals are audited here; the caller audits the rest through `done`.
 */
export async function openEnrolment(
  deps: Deps,
  principal: UserPrincipal,
  method: EnrolledMethod,
  clientAttributes: ClientAttributes | undefined,
): Promise<EnrolmentGate> {
  const ip = clientAttributes?.ip_address;
  const refuse = async (error: Error): Promise<never> => {
    await auditEnrolment(deps, principal, method, outcomeOf(error), ip);
    throw error;
  };
  try {
    checkBinding(principal.record.value, clientAttributes);
  } catch (error) {
    if (error instanceof SessionBindingMismatchError) await refuse(error);
    throw error;
  }
  const recovery = await readRecoveryHolding(deps, principal.user.user_id);
  const judge = (user: UserRecord, now: number) => {
    // A credential change since the session was read ended it: the enrolment ends with it.
    if (!isSessionLive(principal.record.value, user, now, principal.client)) throw sessionEnded();
    const refusal = enrolmentRefusal(principal.client, principal.record.value, user, recovery, method, now);
    if (refusal !== undefined) throw new MfaRequiredError(refusal);
  };
  try {
    judge(principal.user, deps.clock.now());
  } catch (error) {
    await refuse(error as Error);
  }
  return {
    recheck: judge,
    done: (outcome) => auditEnrolment(deps, principal, method, outcome === 'success' ? 'success' : outcomeOf(outcome), ip),
  };
}

/** What an enrolment whose session ended on its way is refused with: as a token of an ended session is (core/user-tokens.ts). */
export function sessionEnded(): UnauthorizedError {
  return new UnauthorizedError('The session of this user access token has ended');
}

/**
 * Whether the principal's session still works, its record and its user read
 * now: for an enrolment that writes a record other than the user's, after
 * that write, to undo it if a change ended the session meanwhile.
 */
export async function sessionStillLive(deps: Deps, principal: UserPrincipal): Promise<boolean> {
  try {
    await loadLiveSession(deps, principal.client, principal.record.value.session_id);
    return true;
  } catch (error) {
    if (error instanceof SessionNotFoundError) return false;
    throw error;
  }
}

/** Runs `write` as an enrolment that `gate` opened: audits its outcome, success or not. */
export async function enrolled<T>(gate: EnrolmentGate, write: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await write();
  } catch (error) {
    await gate.done(error);
    throw error;
  }
  await gate.done('success');
  return result;
}
