/**
 * The Audit port as log lines: one JSON line `{"level":"info","msg":"audit", event, ...}` per event.
 *
 * The same line carries the event's metrics in CloudWatch embedded metric
 * format (core/metrics.ts), so CloudWatch counts authentications, MFA,
 * lockouts, refresh reuse, verifications and enrolments from the line
 * written anyway: no extra call, no extra line. Dimensions are the event's
 * `method` and `outcome` only; `user_id`, `client_id` and `ip` stay plain
 * fields (docs/operations.md).
 */
import { DEFAULT_METRICS_NAMESPACE, emfFields, type CountedMetric } from '../core/metrics.js';
import type { Audit, AuditEvent, Logger } from '../ports.js';

/** The metrics of each audit event (by its `event`); an event not named here is logged without metrics. */
const METRICS_OF_EVENT: Record<string, (event: AuditEvent) => CountedMetric[]> = {
  authentication: (event) => [
    { name: 'Authentications', dimensionSets: [['method', 'outcome'], ['outcome']] },
    // MFA reached: a new authentication whose tokens say `mfa` (a session refresh adds no factor).
    ...(event.outcome === 'success' && event.mfa === true && event.method !== 'session' ? [{ name: 'MfaReached', dimensionSets: [['method'], []] }] : []),
  ],
  lockout: () => [{ name: 'Lockouts', dimensionSets: [['method'], []] }],
  refresh_token_reuse: () => [{ name: 'RefreshTokenReuse', dimensionSets: [[]] }],
  verification: () => [{ name: 'Verifications', dimensionSets: [['method', 'outcome']] }],
  logout: () => [{ name: 'Logouts', dimensionSets: [['outcome']] }],
  // Enrolments (a new recovery-code set too), refusals included: method = the factor, outcome = success or the error code.
  factor_enrolment: () => [{ name: 'Enrolments', dimensionSets: [['method', 'outcome']] }],
  factor_removal: () => [{ name: 'FactorRemovals', dimensionSets: [['method']] }],
  client_authentication: () => [{ name: 'ClientAuthentications', dimensionSets: [['outcome']] }],
};

export class LogAudit implements Audit {
  constructor(
    private readonly logger: Logger,
    private readonly metricsNamespace: string = DEFAULT_METRICS_NAMESPACE,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    const metrics = METRICS_OF_EVENT[event.event]?.(event) ?? [];
    const at = Date.parse(event.at);
    const emf = metrics.length ? emfFields(this.metricsNamespace, Number.isNaN(at) ? Date.now() : at, metrics, { method: event.method, outcome: event.outcome }) : {};
    this.logger.info('audit', { ...event, ...emf });
  }
}

/** Records every event in each audit, in order; the first failure is rethrown once all were tried. */
export function allAudits(...audits: Audit[]): Audit {
  return {
    async record(event) {
      const results = await Promise.allSettled(audits.map((audit) => audit.record(event)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}
