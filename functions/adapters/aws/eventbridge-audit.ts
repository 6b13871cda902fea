/**
 * The Audit port over Amazon EventBridge: one PutEvents entry per event on the
 * configured bus, `source` "twofold", `detail-type` the event name, `detail`
 * the event itself (docs/audit.md).
 */
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Audit, AuditEvent } from '../../ports.js';
import { dependencyFailure } from './failures.js';

export const AUDIT_SOURCE = 'twofold';

export class EventBridgeAudit implements Audit {
  constructor(
    private readonly events: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async record(event: AuditEvent): Promise<void> {
    let response;
    try {
      response = await this.events.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: this.busName, Source: AUDIT_SOURCE, DetailType: event.event, Time: new Date(event.at), Detail: JSON.stringify(event) }],
        }),
      );
    } catch (error) {
      throw dependencyFailure('eventbridge', error);
    }
    // PutEvents answers 200 even when an entry was refused: the count says so.
    if (response.FailedEntryCount) {
      const code = response.Entries?.[0]?.ErrorCode ?? 'unknown';
      throw dependencyFailure('eventbridge', Object.assign(new Error(code), { name: code }));
    }
  }
}
