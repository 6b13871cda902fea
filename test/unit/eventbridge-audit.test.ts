/**
 * Audit events in AWS: the EventBridge adapter sends exactly one PutEvents
 * entry per event, a refused entry or an outage surfaces as DependencyError
 * (which the core logs and never answers), and the wiring sends to
 * EventBridge only when the stack enabled a bus.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeAudit } from '../../functions/adapters/aws/eventbridge-audit.js';
import { buildAwsDeps } from '../../functions/adapters/aws/wiring.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { parseConfig } from '../../functions/config.js';
import { DependencyError } from '../../functions/errors.js';
import type { AuditEvent } from '../../functions/ports.js';
import { jwkFromSpki } from '../../functions/published-keys.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';

const events = mockClient(EventBridgeClient);
const secrets = mockClient(SecretsManagerClient);

beforeEach(() => {
  events.reset();
  secrets.reset();
});

const EVENT: AuditEvent = {
  event: 'authentication',
  user_id: 'u_1',
  client_id: 'c_1',
  method: 'sms',
  ip: '203.0.113.7',
  outcome: 'auth_invalid_credentials',
  at: '2026-01-15T12:00:00.000Z',
};

describe('EventBridge audit adapter', () => {
  it('puts one entry on the bus: source twofold, detail-type the event name, detail the event', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await new EventBridgeAudit(new EventBridgeClient({}), 'twofold-audit').record(EVENT);
    expect(events.commandCalls(PutEventsCommand).map((call) => call.args[0].input)).toEqual([
      {
        Entries: [
          {
            EventBusName: 'twofold-audit',
            Source: 'twofold',
            DetailType: 'authentication',
            Time: new Date('2026-01-15T12:00:00.000Z'),
            Detail: JSON.stringify(EVENT),
          },
        ],
      },
    ]);
  });

  it('a refused entry (PutEvents answers 200 with a failed count) is a dependency failure', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });
    await expect(new EventBridgeAudit(new EventBridgeClient({}), 'bus').record(EVENT)).rejects.toBeInstanceOf(DependencyError);
  });

  it('an outage is a dependency failure that does not quote the service message', async () => {
    events.on(PutEventsCommand).rejects(Object.assign(new Error('detail mentions u_1'), { name: 'InternalException', $metadata: { httpStatusCode: 500 } }));
    const error = (await new EventBridgeAudit(new EventBridgeClient({}), 'bus').record(EVENT).catch((e: unknown) => e)) as DependencyError;
    expect(error).toBeInstanceOf(DependencyError);
    expect(String((error.cause as Error).message)).not.toContain('u_1');
  });
});

const ENV = {
  TABLE_NAME: 'twofold-sessions',
  ISSUER: 'https://abc123.execute-api.us-east-1.amazonaws.com',
  KMS_KEY_ID: 'arn:aws:kms:us-east-1:123456789012:key/current',
  SIGNING_PUBLIC_KEYS: JSON.stringify([jwkFromSpki(new FakeKmsKey('current').spki)]),
  HASH_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:HashKey-abc',
  TOTP_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:TotpKeys-abc',
  USER_TOKEN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:UserTokenKeys-abc',
  SES_FROM_ADDRESS: 'no-reply@twofold.example',
};

describe('AWS audit wiring', () => {
  beforeEach(() => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'k'.repeat(40) });
    secrets.on(GetSecretValueCommand, { SecretId: ENV.TOTP_KEY_SECRET_ARN }).resolves({ SecretString: JSON.stringify({ '1': 'a'.repeat(64) }) });
    secrets.on(GetSecretValueCommand, { SecretId: ENV.USER_TOKEN_KEY_SECRET_ARN }).resolves({ SecretString: JSON.stringify({ '1': 'c'.repeat(64) }) });
  });

  it('without a bus, audit events go to the log only', async () => {
    const lines: string[] = [];
    const deps = await buildAwsDeps(parseConfig(ENV), jsonLogger('info', (line) => lines.push(line)));
    await deps.audit.record(EVENT);
    expect(events.commandCalls(PutEventsCommand)).toHaveLength(0);
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ msg: 'audit', ...EVENT })]);
  });

  it('with AUDIT_EVENT_BUS, each event goes to the log and to that bus', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    const lines: string[] = [];
    const deps = await buildAwsDeps(parseConfig({ ...ENV, AUDIT_EVENT_BUS: 'twofold-audit' }), jsonLogger('info', (line) => lines.push(line)));
    await deps.audit.record(EVENT);
    expect(events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.[0]?.EventBusName)).toEqual(['twofold-audit']);
    expect(lines.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ msg: 'audit', ...EVENT })]);
  });
});
