/**
 * Audit events (docs/audit.md): one structured event per security-relevant
 * outcome, emitted where the core decides it.
 *
 * An authentication is audited once, however deep the decision is made: the
 * outermost `audited` call opens a scope (who, which method, from which IP),
 * inner calls only fill in what they learn (the user, the method), and the
 * outermost one emits the outcome. Lockouts emitted inside the scope take its
 * client, method and IP. A failure to record an event is logged and never
 * changes the answer.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConflictError, DependencyError, TwofoldError } from '../errors.js';
import type { AuditEvent } from '../ports.js';
import type { Deps } from './deps.js';

export type AuditFields = Omit<AuditEvent, 'at'>;
type Scope = Pick<AuditEvent, 'user_id' | 'client_id' | 'method' | 'ip'>;

const scopes = new AsyncLocalStorage<Scope>();

/** Records one event; never throws. */
export async function emitAudit(deps: Pick<Deps, 'audit' | 'clock' | 'logger'>, fields: AuditFields): Promise<void> {
  const event: AuditEvent = { ...fields, at: new Date(deps.clock.now()).toISOString() };
  try {
    await deps.audit.record(event);
  } catch (error) {
    // A route that emits without declaring `audit` is a bug in the route table: fail loudly, never silently.
    if (error instanceof Error && error.name === 'UndeclaredAccessError') throw error;
    deps.logger.error('audit event not recorded', { event: event.event, outcome: event.outcome, error: error instanceof Error ? error.name : 'unknown' });
  }
}

/** The outcome a caller saw: `success`, or the stable error code it got. */
export function outcomeOf(error: unknown): string {
  if (error instanceof TwofoldError) return error.code;
  if (error instanceof DependencyError || error instanceof ConflictError) return 'service_unavailable';
  return 'internal_error';
}

/**
 * Runs `run` as one audited `event`. Nested inside another audited call it
 * only adds what it knows (non-null fields) to the open scope.
 */
export async function audited<T>(
  deps: Pick<Deps, 'audit' | 'clock' | 'logger'>,
  event: 'authentication' | 'verification' | 'logout',
  known: Partial<Scope>,
  run: () => Promise<T>,
): Promise<T> {
  const open = scopes.getStore();
  if (open) {
    noteAudit(known);
    return run();
  }
  const scope: Scope = { user_id: null, client_id: null, method: null, ip: null };
  return scopes.run(scope, async () => {
    noteAudit(known);
    let result: T;
    try {
      result = await run();
    } catch (error) {
      await emitAudit(deps, { event, ...scope, outcome: outcomeOf(error) });
      throw error;
    }
    await emitAudit(deps, { event, ...scope, outcome: 'success', ...(event === 'authentication' && { mfa: saysMfa(result) }) });
    return result;
  });
}

/**
 * Whether a token response says MFA: the `amr` of its ID token (the token
 * just signed, as the caller reads it) holds `mfa`. Decoded, not verified:
 * we signed it a moment ago.
 */
function saysMfa(result: unknown): boolean {
  const idToken = (result as { id_token?: unknown } | null | undefined)?.id_token;
  if (typeof idToken !== 'string') return false;
  try {
    const amr: unknown = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')).amr;
    return Array.isArray(amr) && amr.includes('mfa');
  } catch {
    return false;
  }
}

/** Adds what is now known (the user, the method) to the open audit scope, if any. */
export function noteAudit(known: Partial<Scope>): void {
  const scope = scopes.getStore();
  if (!scope) return;
  for (const [key, value] of Object.entries(known) as Array<[keyof Scope, string | null | undefined]>) {
    if (value !== undefined && value !== null && value !== '') scope[key] = value;
  }
}

/** Emits a `lockout` for `userId` in the open scope and returns `error`, for `throw await auditLockout(...)`. */
export async function auditLockout<E>(deps: Pick<Deps, 'audit' | 'clock' | 'logger'>, userId: string, error: E): Promise<E> {
  const scope = scopes.getStore() ?? { user_id: null, client_id: null, method: null, ip: null };
  await emitAudit(deps, { event: 'lockout', ...scope, user_id: userId, outcome: 'locked' });
  return error;
}
