/** The Audit port as log lines: one JSON line `{"level":"info","msg":"audit", event, ...}` per event. */
import type { Audit, AuditEvent, Logger } from '../ports.js';

export class LogAudit implements Audit {
  constructor(private readonly logger: Logger) {}

  async record(event: AuditEvent): Promise<void> {
    this.logger.info('audit', { ...event });
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
