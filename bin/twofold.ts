/**
 * The CDK app, and the only infrastructure code that reads the environment or
 * CDK context: everything below lib/ takes props.
 *
 *   npx cdk deploy -c senderEmail=no-reply@example.com [-c smsSenderId=Twofold] ...
 *
 * See docs/deploy.md for every context key. Without credentials or context,
 * `npx cdk synth` still works: the account and region fall back to fixed
 * placeholders and the sender to an example address (with a warning).
 */
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import nag from 'cdk-nag';
import { TwofoldStack, type TwofoldStackProps } from '../lib/twofold-stack.js';

const PLACEHOLDER_ACCOUNT = '123456789012';
const PLACEHOLDER_REGION = 'us-east-1';
const PLACEHOLDER_SENDER = 'no-reply@example.com';

const app = new App();

function context(key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  return Array.isArray(value) ? value.join(',') : String(value);
}

function list(key: string): string[] | undefined {
  const value = context(key);
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function integer(key: string): number | undefined {
  const value = context(key);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`context ${key} must be a positive integer, got "${value}"`);
  return parsed;
}

function retention(key: string): RetentionDays | undefined {
  const days = integer(key);
  if (days === undefined) return undefined;
  if (!(Object.values(RetentionDays) as unknown[]).includes(days)) {
    throw new Error(`context ${key} must be a CloudWatch Logs retention in days (1, 3, 5, 7, 14, 30, 60, 90, 180, 365, ...), got ${days}`);
  }
  return days as RetentionDays;
}

const logLevel = context('logLevel');
if (logLevel !== undefined && !['info', 'warn', 'error', 'silent'].includes(logLevel)) {
  throw new Error(`context logLevel must be info, warn, error or silent, got "${logLevel}"`);
}
const rateLimit = integer('throttleRateLimit');
const burstLimit = integer('throttleBurstLimit');

const props: TwofoldStackProps = {
  env: {
    account: context('account') ?? process.env.CDK_DEFAULT_ACCOUNT ?? PLACEHOLDER_ACCOUNT,
    region: context('region') ?? process.env.CDK_DEFAULT_REGION ?? PLACEHOLDER_REGION,
  },
  description: 'Twofold: serverless multi-factor authentication API',
  senderEmail: context('senderEmail') ?? PLACEHOLDER_SENDER,
  sesConfigurationSet: context('sesConfigurationSet'),
  extraEmailIdentities: list('sesSandboxRecipients'),
  smsSenderId: context('smsSenderId'),
  issuer: context('issuer'),
  allowedOrigins: list('allowedOrigins'),
  signingKeyGeneration: integer('signingKeyGeneration'),
  previousKeyArns: list('previousKeyArn'),
  appName: context('appName'),
  logLevel: logLevel as TwofoldStackProps['logLevel'],
  logRetention: retention('logRetentionDays'),
  throttle: rateLimit || burstLimit ? { rateLimit: rateLimit ?? 50, burstLimit: burstLimit ?? 100 } : undefined,
  alarmTopicArn: context('alarmTopicArn'),
  auditEvents: context('auditEvents') === 'true',
};

const stack = new TwofoldStack(app, context('stackName') ?? 'Twofold', props);
if (props.senderEmail === PLACEHOLDER_SENDER) {
  Annotations.of(stack).addWarningV2('twofold:sender', `No senderEmail context: emails would be sent from ${PLACEHOLDER_SENDER}. Deploy with -c senderEmail=<your verified SES identity>.`);
}

// Every synth and deploy fails on an unacknowledged cdk-nag finding, not only the test.
Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app));

app.synth();
