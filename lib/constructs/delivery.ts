import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MAX_DELIVERY_ATTEMPTS } from '../../functions/core/delivery-sender.js';
import { LINK_MAX_MINUTES } from '../../functions/core/magic-links.js';
import { DELIVERY_SENDER } from '../../functions/workers.js';
import { bundleDefines, nodejsBundling, type BundleSettings } from './endpoint-function.js';

/** The sender's timeout: one batch of 10, each an SES or SNS call with the SDK's own timeouts. */
export const SENDER_TIMEOUT_SECONDS = 30;
/** Messages one sender invocation takes at once. */
export const SENDER_BATCH_SIZE = 10;
/**
 * Sender instances at once by default: the least an SQS event source allows.
 * Each delivers its batch one message after another (about 20 a second at
 * SES's and SNS's typical 50 ms), so two keep about the default SES rate of
 * a new production account (14 emails a second) and SNS's 20 SMS a second;
 * what goes over is throttled and retried, not lost.
 */
export const DEFAULT_SENDER_CONCURRENCY = 2;
/** Deliveries older than this on the queue mean the sender cannot keep up (or the provider refuses): alarm. */
export const DELIVERY_AGE_ALARM_SECONDS = 60;

export interface DeliveryProps {
  readonly projectRoot: string;
  /** The environment every function gets (table, keys, SES sender, log level). */
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  readonly bundleSettings?: BundleSettings;
  /** The SQS event source's maximum concurrency (2 to 1000). @default DEFAULT_SENDER_CONCURRENCY */
  readonly maxConcurrency?: number;
  /** Where the alarms notify. */
  readonly alarmTopicArn?: string;
}

/**
 * The delivery path (contract section 11): the queue the send routes put
 * sealed deliveries on, the sender that drains it through SES and SNS, and
 * the dead-letter queue for what failed for good, with its alarm.
 *
 * - The queue is encrypted at rest (SSE-SQS), refuses anything but TLS, and
 *   keeps a message at most as long as the longest-lived thing it can carry
 *   (a 60-minute link): the sender drops anything expired before that.
 * - The sender takes batches with partial batch failures: a throttled
 *   delivery is put back with a backoff (ChangeMessageVisibility) and
 *   retried; after MAX_DELIVERY_ATTEMPTS receives the redrive policy moves a
 *   message the sender never settled to the dead-letter queue.
 * - Alarms: anything on the dead-letter queue; deliveries waiting on the
 *   queue longer than a minute.
 */
export class Delivery extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly sender: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly deadLetterAlarm: Alarm;
  readonly backlogAlarm: Alarm;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_SENDER_CONCURRENCY;
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
      throw new Error(`the delivery sender's concurrency must be a whole number from 2 to 1000 (an SQS event source's limits), got ${maxConcurrency}`);
    }
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Long enough to look at; what it holds is sealed, and its codes have expired or been revoked.
      retentionPeriod: Duration.days(4),
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.minutes(LINK_MAX_MINUTES),
      visibilityTimeout: Duration.seconds(SENDER_TIMEOUT_SECONDS * 2),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_DELIVERY_ATTEMPTS },
    });

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: 'Twofold delivery sender' });
    this.logGroup.grantWrite(this.role);
    this.sender = new NodejsFunction(this, 'Sender', {
      entry: join(props.projectRoot, 'functions', 'workers', `${DELIVERY_SENDER.name}.ts`),
      handler: 'handler',
      description: 'Twofold delivery sender: delivers queued codes and links through SES and SNS',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      // No scrypt here: a small function; CPU matters little next to the provider's round trip.
      memorySize: 256,
      timeout: Duration.seconds(SENDER_TIMEOUT_SECONDS),
      role: this.role,
      logGroup: this.logGroup,
      environment: { ...props.environment, DELIVERY_QUEUE_URL: this.queue.queueUrl, DELIVERY_DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl },
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      bundling: nodejsBundling(props.projectRoot, bundleDefines(DELIVERY_SENDER, props.bundleSettings)),
    });
    this.sender.addEventSource(new SqsEventSource(this.queue, { batchSize: SENDER_BATCH_SIZE, reportBatchItemFailures: true, maxConcurrency }));
    // Receive, delete and change visibility come with the event source; the sender also dead-letters what failed for good.
    this.deadLetterQueue.grantSendMessages(this.role);

    const action = props.alarmTopicArn ? new SnsAction(Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)) : undefined;
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'A Twofold code or link could not be delivered (refused by SES/SNS, or retries ran out): see the sender log ("delivery failed for good") and the dead-letter queue',
    });
    this.backlogAlarm = new Alarm(this, 'BacklogAlarm', {
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: DELIVERY_AGE_ALARM_SECONDS,
      evaluationPeriods: 3,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: 'Twofold deliveries have waited over a minute: SES/SNS are throttling or failing, or the sender concurrency is too low for the send rate',
    });
    if (action) {
      this.deadLetterAlarm.addAlarmAction(action);
      this.backlogAlarm.addAlarmAction(action);
    }
  }
}
