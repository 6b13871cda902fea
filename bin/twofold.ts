/**
 * The CDK app, and the only infrastructure code that reads the environment or
 * CDK context: everything below lib/ takes props.
 *
 *   npx cdk deploy -c senderEmail=no-reply@example.com [-c smsSenderId=Twofold] ...
 *
 * See docs/deploy.md for every context key. `senderEmail` is required: there
 * is no sender that would work, so a synth without one fails. An offline synth
 * (CI) passes an explicit test value (`-c senderEmail=ci@example.com`, as
 * .ci/run does); the account and region fall back to fixed placeholders.
 * Every value is checked by the functions' own configuration rules
 * (functions/config.ts) before anything is synthesized.
 */
import { App, Validations } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import nag from 'cdk-nag';
import { rotationPlan } from '../lib/constructs/signing-key.js';
import { DEPLOYED_LOG_LEVELS, TwofoldStack, type TwofoldStackProps } from '../lib/twofold-stack.js';
import { DEFAULT_ROUTE_THROTTLE, parseThrottle, type Throttle } from '../lib/throttles.js';

const PLACEHOLDER_ACCOUNT = '123456789012';
const PLACEHOLDER_REGION = 'us-east-1';

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

function flag(key: string): boolean | undefined {
  const value = context(key);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new Error(`context ${key} must be true or false, got "${value}"`);
  return value === 'true';
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
if (logLevel !== undefined && !(DEPLOYED_LOG_LEVELS as readonly string[]).includes(logLevel)) {
  throw new Error(`context logLevel must be ${DEPLOYED_LOG_LEVELS.join(', ')} (each logs the errors the KMS alarm counts), got "${logLevel}"`);
}
const senderEmail = context('senderEmail');
if (!senderEmail) {
  throw new Error(
    'context senderEmail is required: the verified SES identity that sends codes and links (-c senderEmail=no-reply@example.com). For an offline synth, pass an explicit test value.',
  );
}
// The settings of one rotation phase left in place for another (docs/deploy.md, section 5): refused when harmful, else explained.
const rotation = rotationPlan({ generation: integer('signingKeyGeneration'), previousKeyArns: list('previousKeyArn'), publishNextKey: flag('publishNextSigningKey') });
if (rotation.problems.length) throw new Error(`signing key rotation: ${rotation.problems.join('; ')}`);
for (const note of rotation.notes) console.warn(`[twofold] ${note}`);
const rateLimit = integer('throttleRateLimit');
const burstLimit = integer('throttleBurstLimit');
/**
 * `-c throttle.<route>=<rate>[/<burst>]`, or a `"throttle.<route>"` key in
 * cdk.json: one route's own throttle. The stack refuses a route that does not
 * exist, and a signing route over the KMS quota (lib/throttles.ts).
 */
const routeThrottles: Record<string, Throttle> = {};
for (const key of Object.keys(app.node.getAllContext())) {
  if (!key.startsWith('throttle.')) continue;
  const value = context(key);
  if (value !== undefined) routeThrottles[key.slice('throttle.'.length)] = parseThrottle(key, value);
}

const props: TwofoldStackProps = {
  env: {
    account: context('account') ?? process.env.CDK_DEFAULT_ACCOUNT ?? PLACEHOLDER_ACCOUNT,
    region: context('region') ?? process.env.CDK_DEFAULT_REGION ?? PLACEHOLDER_REGION,
  },
  description: 'Twofold: serverless multi-factor authentication API',
  senderEmail,
  sesConfigurationSet: context('sesConfigurationSet'),
  extraEmailIdentities: list('sesSandboxRecipients'),
  smsSenderId: context('smsSenderId'),
  issuer: context('issuer'),
  allowedOrigins: list('allowedOrigins'),
  signingKeyGeneration: integer('signingKeyGeneration'),
  previousKeyArns: list('previousKeyArn'),
  publishNextSigningKey: flag('publishNextSigningKey'),
  totpKeyIds: list('totpKeyIds'),
  userTokenKeyIds: list('userTokenKeyIds'),
  appName: context('appName'),
  logLevel: logLevel as TwofoldStackProps['logLevel'],
  logRetention: retention('logRetentionDays'),
  throttle: rateLimit || burstLimit ? { rateLimit: rateLimit ?? DEFAULT_ROUTE_THROTTLE.rateLimit, burstLimit: burstLimit ?? DEFAULT_ROUTE_THROTTLE.burstLimit } : undefined,
  routeThrottles,
  kmsSignQuota: integer('kmsSignQuota'),
  alarmTopicArn: context('alarmTopicArn'),
  auditEvents: context('auditEvents') === 'true',
  deliveryConcurrency: integer('deliveryConcurrency'),
};

new TwofoldStack(app, context('stackName') ?? 'Twofold', props);

// Every synth and deploy fails on an unacknowledged cdk-nag finding, not only the test.
Validations.of(app).addPlugins(new nag.AwsSolutionsChecks(app));

app.synth();
