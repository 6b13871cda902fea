/**
 * Operational metrics as CloudWatch embedded metric format (EMF): a log line
 * that carries an `_aws` block is turned into metrics by CloudWatch Logs
 * itself, so counting costs no API call and no extra request latency
 * (docs/operations.md lists every metric).
 *
 * Two sources, each written where the outcome is decided:
 * - audit events (adapters/audit-log.ts): the audit line gets the block, so
 *   authentications, MFA reached, lockouts, refresh reuse, verifications and
 *   enrolments are counted in the line already written for them;
 * - sends (`recordSend`): one line per send outcome, by channel and, for SMS,
 *   the destination's country calling code.
 *
 * Dimensions are low-cardinality values only (method, outcome, channel,
 * calling code): never a user id, contact, IP or client id, which would make
 * one metric per user and could be read back by anyone with CloudWatch
 * access. Those stay plain fields of the log line, where Logs Insights finds
 * them.
 *
 * Hand-written rather than Powertools' Metrics: the block must go into the
 * audit line we already write (Powertools writes lines of its own, through
 * its own console, past our contact masking), one metric needs several
 * dimension sets without a forced `service` dimension, and nothing here
 * needs per-request state to flush.
 */
import { RateLimitedError } from '../errors.js';
import { callingCodeOf } from './calling-codes.js';
import type { Deps } from './deps.js';

export const DEFAULT_METRICS_NAMESPACE = 'Twofold';

/** One counted metric: its name and the dimension sets (field names) it is counted under. */
export interface CountedMetric {
  name: string;
  /** Each set is a list of field names of the line; `[]` counts it without dimensions. */
  dimensionSets: string[][];
}

/**
 * The EMF fields for a line: the `_aws` block declaring `metrics` (each a
 * Count of 1) under `dimensions`' values, the dimension values and a `1` per
 * metric. Merge them into the line's own fields. A dimension set naming a
 * field without a value is left out (CloudWatch would drop the whole line).
 */
export function emfFields(namespace: string, at: number, metrics: CountedMetric[], dimensions: Record<string, string | null | undefined>): Record<string, unknown> {
  const present = (set: string[]) => set.every((name) => typeof dimensions[name] === 'string' && dimensions[name] !== '');
  const declared = metrics.map((m) => ({ ...m, dimensionSets: m.dimensionSets.filter(present) })).filter((m) => m.dimensionSets.length > 0);
  if (declared.length === 0) return {};
  const values: Record<string, unknown> = {};
  for (const m of declared) for (const set of m.dimensionSets) for (const name of set) values[name] = dimensions[name];
  for (const m of declared) values[m.name] = 1;
  return {
    _aws: {
      Timestamp: at,
      // One directive per metric: each has its own dimension sets.
      CloudWatchMetrics: declared.map((m) => ({ Namespace: namespace, Dimensions: m.dimensionSets, Metrics: [{ Name: m.name, Unit: 'Count' }] })),
    },
    ...values,
  };
}

/** What happened to one send. */
export type SendOutcome =
  /** a real send's code stored and its delivery queued (the sender then counts delivered, stale or failed) */
  | 'queued'
  /** handed to the provider by the delivery sender */
  | 'delivered'
  /** the delivery sender dropped it: the code expired, was used or replaced before it could go */
  | 'stale'
  /** the provider refused it for good, or every retry failed: dead-lettered, the code revoked */
  | 'failed'
  /** refused with 429 (what was submitted, or the client's budget) */
  | 'limited'
  /** answered as sent, nothing sent: the real destination's limits, or an SMS country the client does not allow for a stored number */
  | 'dropped'
  /** refused with 400: a submitted number in a country the client does not allow */
  | 'refused'
  /** answered as sent, nothing sent: no reachable user (a decoy) */
  | 'unknown'
  /** the code returned in the response (channel `direct`) */
  | 'direct';

export interface SendRecord {
  channel: 'email' | 'sms';
  outcome: SendOutcome;
  /** The contact it went (or would have gone) to: only an SMS number's country calling code is kept, as a dimension. */
  destination?: string | undefined;
}

const SENDS: CountedMetric[] = [{ name: 'Sends', dimensionSets: [['channel', 'outcome'], ['outcome'], ['channel', 'outcome', 'calling_code']] }];

/** Counts one send outcome (metric `Sends`): one log line, never a secret or a contact. Never throws. */
export function recordSend(deps: Pick<Deps, 'logger' | 'clock' | 'settings'>, send: SendRecord): void {
  const namespace = deps.settings.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
  try {
    const dimensions = { channel: send.channel, outcome: send.outcome, calling_code: send.channel === 'sms' && send.destination !== undefined ? callingCodeOf(send.destination) : undefined };
    deps.logger.info('send', { channel: send.channel, outcome: send.outcome, ...emfFields(namespace, deps.clock.now(), SENDS, dimensions) });
  } catch {
    // A metric is never worth a failed request.
  }
}

type SendDeps = Pick<Deps, 'logger' | 'clock' | 'settings'>;

/** For `.catch` on a send's limits: counts a 429 as `limited`, and rethrows whatever it was. */
export function countLimited(deps: SendDeps, channel: SendRecord['channel']): (error: unknown) => never {
  return (error) => {
    if (error instanceof RateLimitedError) recordSend(deps, { channel, outcome: 'limited' });
    throw error;
  };
}
