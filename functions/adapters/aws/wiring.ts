/**
 * The AWS wiring, built once per cold start (functions/runtime.ts calls it on
 * the first request): configuration from the environment, the DynamoDB store,
 * the KMS signer, SES and SNS delivery, the hash key from Secrets Manager and
 * the JSON logger. Nothing else in the Lambda code constructs an AWS client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { loadConfig, type Config } from '../../config.js';
import type { Deps } from '../../core/deps.js';
import type { Audit, Logger, Mailer, SmsSender } from '../../ports.js';
import { allAudits, LogAudit } from '../audit-log.js';
import { jsonLogger } from '../logger.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { dependencyFailure } from './failures.js';
import { KmsSigner } from './kms-signer.js';

/** HMAC-SHA-256 keys shorter than the hash output would weaken it. */
export const MIN_HASH_KEY_BYTES = 32;

/**
 * Fail fast inside the Lambda and API Gateway timeouts: a slow dependency
 * becomes a 503 the caller can retry, not a hung request.
 */
const clientOptions = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000 },
};

/** Reads the hash key once: the secret's bytes (SecretString as UTF-8, or SecretBinary). */
export async function readHashKey(secrets: SecretsManagerClient, secretId: string): Promise<Uint8Array> {
  let response;
  try {
    response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    throw dependencyFailure('secretsmanager', error);
  }
  const key = response.SecretBinary ? Uint8Array.from(response.SecretBinary) : Buffer.from(response.SecretString ?? '', 'utf8');
  // A wrong secret is a deployment mistake, not an outage: a plain error (500, detail in the log).
  if (key.length < MIN_HASH_KEY_BYTES) {
    throw new Error(`the hash key secret holds ${key.length} bytes; at least ${MIN_HASH_KEY_BYTES} are needed`);
  }
  return key;
}

/**
 * A delivery port for functions whose route sends nothing of that kind. The
 * route table decides; IAM would refuse the call anyway.
 */
function noDelivery(kind: string): Mailer & SmsSender {
  const refuse = async () => {
    throw new Error(`this function's route has no ${kind} capability`);
  };
  return { sendEmail: refuse, sendSms: refuse };
}

/**
 * SES and SNS clients are loaded only by functions whose route sends email or
 * SMS: the CDK bundling defines TWOFOLD_SENDS_EMAIL / TWOFOLD_SENDS_SMS per
 * route, so esbuild drops the unused client from the bundle altogether.
 * Unbundled (tests), both are loaded.
 */
async function buildMailer(config: Readonly<Config>): Promise<Mailer> {
  if (process.env.TWOFOLD_SENDS_EMAIL === 'false') {
    return noDelivery('email');
  } else {
    const [{ SESClient }, { SesMailer }] = await Promise.all([import('@aws-sdk/client-ses'), import('./ses-mailer.js')]);
    return new SesMailer(new SESClient(clientOptions), config.ses);
  }
}

async function buildSmsSender(config: Readonly<Config>): Promise<SmsSender> {
  if (process.env.TWOFOLD_SENDS_SMS === 'false') {
    return noDelivery('sms');
  } else {
    const [{ SNSClient }, { SnsSmsSender }] = await Promise.all([import('@aws-sdk/client-sns'), import('./sns-sms.js')]);
    return new SnsSmsSender(new SNSClient(clientOptions), config.sms);
  }
}

/** Audit events go to the log, and to EventBridge when the stack enabled a bus (its client loaded only then). */
async function buildAudit(config: Readonly<Config>, logger: Logger): Promise<Audit> {
  // TWOFOLD_AUDITS is defined per route at bundle time, so esbuild drops the client where no event is emitted
  // (an if/else, like buildMailer's: esbuild removes a dead branch, not the code after an early return).
  if (process.env.TWOFOLD_AUDITS === 'false' || !config.auditEventBus) {
    return new LogAudit(logger);
  } else {
    const [{ EventBridgeClient }, { EventBridgeAudit }] = await Promise.all([import('@aws-sdk/client-eventbridge'), import('./eventbridge-audit.js')]);
    return allAudits(new LogAudit(logger), new EventBridgeAudit(new EventBridgeClient(clientOptions), config.auditEventBus));
  }
}

export async function buildAwsDeps(config: Readonly<Config> = loadConfig(), logger: Logger = jsonLogger(config.logLevel)): Promise<Deps> {
  const secrets = new SecretsManagerClient(clientOptions);
  let hashKey: Uint8Array;
  try {
    hashKey = await readHashKey(secrets, config.hashKeySecretArn);
  } catch (error) {
    // The endpoint has no logger yet when wiring fails: say it here.
    logger.error('cold start wiring failed', {
      dependency: 'secretsmanager',
      cause: error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error),
    });
    throw error;
  } finally {
    secrets.destroy();
  }
  return {
    store: new DynamoDbStore(new DynamoDBClient(clientOptions), config.tableName),
    signer: new KmsSigner(new KMSClient(clientOptions), { keyId: config.kms.keyId, previousKeyIds: config.kms.previousKeyIds }),
    mailer: await buildMailer(config),
    sms: await buildSmsSender(config),
    clock: { now: () => Date.now() },
    logger,
    audit: await buildAudit(config, logger),
    settings: config.settings,
    hashKey,
  };
}
