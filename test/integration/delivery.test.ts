/**
 * Contract section 11: a send stores its code and queues its delivery; the
 * delivery sender delivers at the provider's pace. With SES and SNS mocked
 * (aws-sdk-client-mock, through the real SES and SNS adapters): a throttled
 * or failing provider never turns a send into an error, deliveries are
 * retried with backoff and arrive, what fails for good is revoked, audited
 * and dead-lettered, and a code that expired or was replaced meanwhile is
 * never delivered. The sender's Lambda handler is driven with SQS events
 * against a mocked SQSClient, asserting the exact commands.
 */
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SesMailer } from '../../functions/adapters/aws/ses-mailer.js';
import { SnsSmsSender } from '../../functions/adapters/aws/sns-sms.js';
import { SqsDeliveryQueue } from '../../functions/adapters/aws/sqs-queue.js';
import { MAX_DELIVERY_ATTEMPTS, retryDelaySeconds } from '../../functions/core/delivery-sender.js';
import { forgetCachedClients } from '../../functions/core/clients.js';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import type { OtpRecord } from '../../functions/core/otp.js';
import { handler as linkAuthenticate } from '../../functions/handlers/auth-link-authenticate.js';
import { handler as linkSend } from '../../functions/handlers/auth-link-send.js';
import { handler as otpAuthenticate } from '../../functions/handlers/auth-otp-authenticate.js';
import { handler as otpSend } from '../../functions/handlers/auth-otp-send.js';
import { handler as sender } from '../../functions/workers/delivery-sender.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedUser } from '../support/seed.js';

const EMAIL = 'ada@example.com';
const PHONE = '+15551234567';
const REDIRECT = 'https://app.example/callback';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const awsError = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

const ses = mockClient(SESClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

let t: TestContext;
let token: string;
let user: UserRecord;

beforeEach(async () => {
  t = await createTestDeps();
  ({ token } = await createTestClient(t.deps, { redirect_uris: [REDIRECT] }));
  user = await seedUser(t.deps, { email: EMAIL, phone_number: PHONE, username: 'ada' });
  // The real SES and SNS adapters, on mocked clients: the sender calls them exactly as in AWS.
  t.deps.mailer = new SesMailer(new SESClient({ region: 'us-east-1', credentials }), { fromAddress: 'no-reply@twofold.example' });
  t.deps.sms = new SnsSmsSender(new SNSClient({ region: 'us-east-1', credentials }));
});
afterEach(() => {
  ses.reset();
  sns.reset();
  sqs.reset();
});

const sendEmail = () => invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
const sendSms = () => invoke(otpSend, { token, body: { channel: 'sms', identifier_type: 'phone_number', identifier: PHONE } });
const byEmail = (passcode: string) => invoke(otpAuthenticate, { token, body: { passcode, identifier_type: 'email', identifier: EMAIL } });
const byPhone = (passcode: string) => invoke(otpAuthenticate, { token, body: { passcode, identifier_type: 'phone_number', identifier: PHONE } });
const codeIn = (text: string) => /\b(\d{6})\b/.exec(text)![1]!;
const emailsSent = () => ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
const deliveryEvents = () =>
  t.logLines.map((l) => JSON.parse(l) as { msg: string; event?: string; outcome?: string; user_id?: string; method?: string }).filter((l) => l.msg === 'audit' && l.event === 'delivery');

describe('a throttling or failing provider', () => {
  it('throttled twice: the send answers 200 at once, the delivery is retried with backoff and arrives, and its code works', async () => {
    ses.on(SendEmailCommand).rejectsOnce(awsError('Throttling', 400)).rejectsOnce(awsError('Throttling', 400)).resolves({ MessageId: 'ses-1' });
    const res = await sendEmail();
    expect(res).toMatchObject({ status: 200, body: { message: 'OTP sent' } });
    expect(t.queue.outcomes).toEqual(['retry']);
    // Not due before its backoff, as SQS keeps it invisible.
    t.clock.advanceSeconds(retryDelaySeconds(1) - 1);
    expect(await t.queue.redeliverDue()).toBe(0);
    t.clock.advanceSeconds(1);
    expect(await t.queue.redeliverDue()).toBe(1);
    t.clock.advanceSeconds(retryDelaySeconds(2));
    expect(await t.queue.redeliverDue()).toBe(1);
    expect(t.queue.outcomes).toEqual(['retry', 'retry', 'delivered']);
    const sent = emailsSent();
    expect(sent).toHaveLength(3);
    for (const input of sent) expect(input).toMatchObject({ Source: 'no-reply@twofold.example', Destination: { ToAddresses: [EMAIL] } });
    expect((await byEmail(codeIn(sent[2]!.Message!.Body!.Text!.Data!))).status).toBe(200);
    expect(deliveryEvents()).toEqual([expect.objectContaining({ outcome: 'delivered', user_id: user.user_id, method: 'email' })]);
  });

  it('an SNS outage: the send answers 200, the SMS arrives once SNS is back', async () => {
    sns.on(PublishCommand).rejects(awsError('InternalError', 500));
    expect((await sendSms()).status).toBe(200);
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    t.clock.advanceSeconds(retryDelaySeconds(1));
    await t.queue.redeliverDue();
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toEqual([expect.objectContaining({ PhoneNumber: PHONE, Message: expect.stringMatching(/^\d{6} is your Twofold verification code$/) })]);
    expect((await byPhone(codeIn(published[0]!.Message!))).status).toBe(200);
  });

  it('refused for good (SNS InvalidParameter): the code is revoked, the message dead-lettered, and an audit event says so', async () => {
    sns.on(PublishCommand).rejects(awsError('InvalidParameter', 400));
    expect((await sendSms()).status).toBe(200);
    expect(t.queue.outcomes).toEqual(['failed']);
    expect(t.queue.deadLetters).toHaveLength(1);
    expect(t.queue.deadLetters[0]).not.toContain(PHONE); // sealed
    const stored = (await t.store.get<OtpRecord>(keys.otp(user.user_id, 'sms')))!.value;
    expect(stored.code).toBeUndefined();
    const code = codeIn(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message!);
    expect((await byPhone(code)).body.error_code).toBe('auth_invalid_credentials');
    expect(deliveryEvents()).toEqual([expect.objectContaining({ outcome: 'failed', user_id: user.user_id, method: 'sms' })]);
  });

  it('failing until its retries run out: dead-lettered and revoked, never retried forever', async () => {
    ses.on(SendEmailCommand).rejects(awsError('ServiceUnavailable', 503));
    await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL, expires_in: 10 } });
    // Each time the backoff passes, SQS hands it over again; the code (10 minutes) outlives the first attempts.
    for (let attempt = 1; attempt < MAX_DELIVERY_ATTEMPTS && t.queue.waiting.length; attempt++) {
      t.clock.advanceSeconds(retryDelaySeconds(attempt));
      await t.queue.redeliverDue();
    }
    expect(t.queue.waiting).toHaveLength(0);
    expect(t.queue.outcomes.at(-1)).toMatch(/^(failed|stale)$/);
    expect(t.queue.outcomes.filter((o) => o === 'delivered')).toHaveLength(0);
  });
});

describe('never a stale code', () => {
  it('a code that expired while its delivery waited is never delivered', async () => {
    ses.on(SendEmailCommand).rejectsOnce(awsError('Throttling', 400)).resolves({ MessageId: 'ses-1' });
    await sendEmail();
    t.clock.advanceSeconds(5 * 60); // the code's 5 minutes have passed
    expect(await t.queue.redeliverDue()).toBe(1);
    expect(t.queue.outcomes).toEqual(['retry', 'stale']);
    expect(emailsSent()).toHaveLength(1); // only the throttled attempt
    expect(deliveryEvents()).toEqual([expect.objectContaining({ outcome: 'stale' })]);
  });

  it('a code replaced by a newer send while its delivery waited is never delivered; the newer one is', async () => {
    ses.on(SendEmailCommand).rejectsOnce(awsError('Throttling', 400)).resolves({ MessageId: 'ses-1' });
    await sendEmail();
    t.clock.advanceSeconds(30);
    await sendEmail(); // delivered at once
    expect(await t.queue.redeliverDue()).toBe(1); // the first, due since 5 s
    expect(t.queue.outcomes).toEqual(['retry', 'delivered', 'stale']);
    const sent = emailsSent();
    expect(sent).toHaveLength(2);
    expect((await byEmail(codeIn(sent[1]!.Message!.Body!.Text!.Data!))).status).toBe(200);
  });

  it('a code already used is not delivered again', async () => {
    ses.on(SendEmailCommand).rejectsOnce(awsError('Throttling', 400)).resolves({ MessageId: 'ses-1' });
    const sent: string[] = [];
    t.deps.queue = { enqueue: async (body) => void sent.push(body) }; // holds the message, as SQS would
    await sendEmail();
    t.deps.queue = t.queue;
    // The code is used (it leaked by other means, or the user typed it from a first delivery); the held message comes later.
    const stored = (await t.store.get<OtpRecord>(keys.otp(user.user_id, 'email')))!;
    await t.store.put(keys.otp(user.user_id, 'email'), { ...stored.value, code: { ...stored.value.code!, used_at: t.clock.now() } }, { expectVersion: stored.version });
    await t.queue.enqueue(sent[0]!);
    expect(t.queue.outcomes).toEqual(['stale']);
    expect(emailsSent()).toHaveLength(0);
  });

  it('a link that expired while its delivery waited is never delivered', async () => {
    ses.on(SendEmailCommand).rejectsOnce(awsError('Throttling', 400)).resolves({ MessageId: 'ses-1' });
    expect((await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: REDIRECT, email_expiration: 1 } })).status).toBe(200);
    t.clock.advanceSeconds(60);
    await t.queue.redeliverDue();
    expect(t.queue.outcomes).toEqual(['retry', 'stale']);
    expect(emailsSent()).toHaveLength(1);
  });

  it('a link delivered after a throttle works', async () => {
    ses.on(SendEmailCommand).rejectsOnce(awsError('Throttling', 400)).resolves({ MessageId: 'ses-1' });
    await invoke(linkSend, { token, body: { identifier_type: 'email', identifier: EMAIL, redirect_uri: REDIRECT } });
    t.clock.advanceSeconds(5);
    await t.queue.redeliverDue();
    const link = /https:\S+/.exec(emailsSent()[1]!.Message!.Body!.Text!.Data!)![0];
    const code = new URL(link).searchParams.get('code');
    expect((await invoke(linkAuthenticate, { token, body: { code } })).status).toBe(200);
  });
});

describe('the delivery sender Lambda handler (SQS event source, partial batch failures)', () => {
  const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries';
  const DLQ = 'https://sqs.us-east-1.amazonaws.com/123456789012/deliveries-dlq';
  let held: string[];

  beforeEach(() => {
    held = [];
    // Sends put their messages here (as SQS would hold them); the handler then gets them in an event.
    t.deps.queue = Object.assign(new SqsDeliveryQueue(new SQSClient({ region: 'us-east-1', credentials }), QUEUE, DLQ), {});
    sqs.on(SendMessageCommand, { QueueUrl: QUEUE }).callsFake((input: { MessageBody: string }) => (held.push(input.MessageBody), { MessageId: `m${held.length}` }));
    sqs.on(SendMessageCommand, { QueueUrl: DLQ }).resolves({ MessageId: 'dlq-1' });
    sqs.on(ChangeMessageVisibilityCommand).resolves({});
  });

  const event = (bodies: string[], receiveCount = 1): SQSEvent => ({
    Records: bodies.map(
      (body, i) =>
        ({ messageId: `m${i + 1}`, receiptHandle: `r${i + 1}`, body, attributes: { ApproximateReceiveCount: String(receiveCount) } }) as unknown as SQSRecord,
    ),
  });

  it('delivers a batch; a throttled one is reported as a batch item failure and made visible again after its backoff', async () => {
    expect((await sendEmail()).status).toBe(200);
    expect((await sendSms()).status).toBe(200);
    expect((await invoke(otpSend, { token, body: { channel: 'email', identifier_type: 'email', identifier: 'nobody@example.com' } })).status).toBe(200);
    expect(held).toHaveLength(3); // the decoy for nobody included
    ses.on(SendEmailCommand).rejects(awsError('Throttling', 400));
    sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
    const result = await sender(event(held, 2));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(sqs.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input)).toEqual([{ QueueUrl: QUEUE, ReceiptHandle: 'r1', VisibilityTimeout: retryDelaySeconds(2) }]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1); // the decoy reached no provider
  });

  it('a message refused for good goes to the dead-letter queue, still sealed, and is not retried', async () => {
    await sendSms();
    sns.on(PublishCommand).rejects(awsError('InvalidParameter', 400));
    const result = await sender(event(held));
    expect(result).toEqual({ batchItemFailures: [] });
    const dead = sqs.commandCalls(SendMessageCommand, { QueueUrl: DLQ }).map((c) => c.args[0].input);
    expect(dead).toEqual([{ QueueUrl: DLQ, MessageBody: held[0], MessageAttributes: { reason: { DataType: 'String', StringValue: 'failed' } } }]);
  });

  it('a message that is not ours (or was tampered with) is dead-lettered, never delivered', async () => {
    const result = await sender(event(['v1.AAAA.BBBB.CCCC']));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(sqs.commandCalls(SendMessageCommand, { QueueUrl: DLQ })).toHaveLength(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('a failed enqueue (SQS down) is 503 with Retry-After and leaves no usable code', async () => {
    sqs.on(SendMessageCommand, { QueueUrl: QUEUE }).rejects(awsError('ServiceUnavailable', 503));
    const res = await sendEmail();
    expect(res).toMatchObject({ status: 503, body: { error_code: 'service_unavailable' } });
    expect(res.headers['Retry-After']).toBeDefined();
    expect((await t.store.get<OtpRecord>(keys.otp(user.user_id, 'email')))!.value.code).toBeUndefined();
  });
});

describe('clients stored with the old response floor', () => {
  it('still load and send, with no floor applied', async () => {
    const { client, token: oldToken } = await createTestClient(t.deps);
    const stored = (await t.store.get<ClientRecord>(keys.client(client.client_id)))!;
    await t.store.put(keys.client(client.client_id), { ...stored.value, send_response_floor_ms: 60_000 }, { expectVersion: stored.version });
    forgetCachedClients();
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    // A 60 s floor would have outlasted the function's timeout: the send answers, and the mail goes out.
    const res = await invoke(otpSend, { token: oldToken, body: { channel: 'email', identifier_type: 'email', identifier: EMAIL } });
    expect(res.status).toBe(200);
    expect(emailsSent()).toHaveLength(1);
  });
});
