/**
 * The AWS wiring, built once per cold start (functions/runtime.ts calls it on
 * the first request): configuration from the environment, the DynamoDB store,
 * the KMS signer (or, where the route never signs, only the deployed public
 * keys), SES and SNS delivery, the hash key, the TOTP keys and the
 * user-token keys from Secrets
 * Manager (each only if the function's route declares it) and the JSON
 * logger. Nothing else in the Lambda code constructs an AWS client, and each
 * takes its timeouts and retries from sdk-options.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SESClient } from '@aws-sdk/client-ses';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadConfig, type Config } from '../../config.js';
import { needsOf, type Capability, type FunctionNeeds } from '../../access.js';
import type { SealKeyring } from '../../core/crypto.js';
import type { Deps } from '../../core/deps.js';
import type { Audit, DeliveryQueue, Logger, Mailer, Signer, SmsSender } from '../../ports.js';
import { publishedKeysOnly } from '../../published-keys.js';
import { allAudits, LogAudit } from '../audit-log.js';
import { jsonLogger } from '../logger.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { EventBridgeAudit } from './eventbridge-audit.js';
import { KmsSigner } from './kms-signer.js';
import { awsClientOptions } from './sdk-options.js';
import { readHashKey, readTotpKeyring, readUserTokenKeyring } from './secrets.js';
import { SesMailer } from './ses-mailer.js';
import { SnsSmsSender } from './sns-sms.js';
import { SqsDeliveryQueue } from './sqs-queue.js';

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
 * SES and SNS clients are bundled only into functions whose route sends email
 * or SMS: the CDK bundling defines TWOFOLD_SENDS_EMAIL / TWOFOLD_SENDS_SMS per
 * route, the unused branch folds away, and esbuild drops the client's static
 * import with it (the SDK packages declare no side effects). Every client is
 * imported statically: esbuild cannot tree-shake what a dynamic import
 * reaches. Unbundled (tests), all are loaded.
 */
async function buildMailer(config: Readonly<Config>): Promise<Mailer> {
  if (process.env.TWOFOLD_SENDS_EMAIL === 'false') {
    return noDelivery('email');
  } else {
    return new SesMailer(new SESClient(awsClientOptions()), config.ses);
  }
}

async function buildSmsSender(config: Readonly<Config>): Promise<SmsSender> {
  if (process.env.TWOFOLD_SENDS_SMS === 'false') {
    return noDelivery('sms');
  } else {
    return new SnsSmsSender(new SNSClient(awsClientOptions()), config.sms);
  }
}

/**
 * The delivery queue, its SQS client bundled only into functions that
 * enqueue (sends) or consume (the delivery sender): TWOFOLD_ENQUEUES is
 * defined per function at bundle time.
 */
export function buildQueue(config: Readonly<Config>): DeliveryQueue & Partial<SqsDeliveryQueue> {
  if (process.env.TWOFOLD_ENQUEUES === 'false' || !config.delivery.queueUrl) {
    return {
      enqueue: async () => {
        throw new Error("this function has no delivery queue (no 'queue' capability, or DELIVERY_QUEUE_URL unset)");
      },
    };
  } else {
    return new SqsDeliveryQueue(new SQSClient(awsClientOptions()), config.delivery.queueUrl, config.delivery.deadLetterQueueUrl);
  }
}

/** Audit events go to the log, and to EventBridge when the stack enabled a bus (its client bundled only then). */
async function buildAudit(config: Readonly<Config>, logger: Logger): Promise<Audit> {
  // TWOFOLD_AUDITS is defined per route at bundle time, so esbuild drops the client where no event is emitted
  // (an if/else, like buildMailer's: esbuild removes a dead branch, not the code after an early return).
  if (process.env.TWOFOLD_AUDITS === 'false' || !config.auditEventBus) {
    return new LogAudit(logger, config.settings.metricsNamespace);
  } else {
    return allAudits(new LogAudit(logger, config.settings.metricsNamespace), new EventBridgeAudit(new EventBridgeClient(awsClientOptions()), config.auditEventBus));
  }
}

/** Stands in for a secret the route does not declare; the endpoint never lets the handler reach it. */
const NOT_READ = { hashKey: new Uint8Array(0), totpKeys: { current: '', keys: {} } satisfies SealKeyring, userTokenKeys: { current: '', keys: {} } satisfies SealKeyring };

/**
 * Reads the secrets the route declares, once. The Secrets Manager client is
 * bundled only into functions whose route reads a secret: the CDK bundling
 * defines TWOFOLD_READS_SECRETS per route (lib/constructs/endpoint-function.ts).
 */
async function readSecrets(
  config: Readonly<Config>,
  logger: Logger,
  wants: (capability: Capability) => boolean,
): Promise<{ hashKey: Uint8Array; totpKeys: SealKeyring; userTokenKeys: SealKeyring }> {
  if (process.env.TWOFOLD_READS_SECRETS === 'false' || !(wants('hash-key') || wants('totp-key') || wants('user-token-key'))) {
    return NOT_READ;
  } else {
    const secrets = new SecretsManagerClient(awsClientOptions());
    try {
      const [hashKey, totpKeys, userTokenKeys] = await Promise.all([
        wants('hash-key') ? readHashKey(secrets, config.hashKeySecretArn) : NOT_READ.hashKey,
        wants('totp-key') ? readTotpKeyring(secrets, config.totpKeys.secretArn, config.totpKeys.ids) : NOT_READ.totpKeys,
        wants('user-token-key') ? readUserTokenKeyring(secrets, config.userTokenKeys.secretArn, config.userTokenKeys.ids) : NOT_READ.userTokenKeys,
      ]);
      return { hashKey, totpKeys, userTokenKeys };
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
  }
}

/**
 * Only functions whose route issues tokens construct a KMS client (and call
 * nothing but Sign): TWOFOLD_SIGNS is defined per route at bundle time. The
 * others verify with the public keys the deployment put in the environment.
 */
function buildSigner(config: Readonly<Config>, signs: boolean): Signer {
  if (process.env.TWOFOLD_SIGNS === 'false' || !signs) {
    return publishedKeysOnly(config.kms.publicKeys);
  } else {
    return new KmsSigner(new KMSClient(awsClientOptions()), { keyId: config.kms.keyId, publicKeys: config.kms.publicKeys });
  }
}

/**
 * Wires the AWS dependencies. With a route (in Lambda: the function's one
 * route), only the secrets that route declares are read at cold start, and
 * only a signing route gets a KMS client; IAM would refuse the others anyway.
 */
export async function buildAwsDeps(config: Readonly<Config> = loadConfig(), logger: Logger = jsonLogger(config.logLevel), route?: FunctionNeeds): Promise<Deps> {
  const declared = route ? needsOf(route).capabilities : undefined;
  const wants = (capability: Capability) => !declared || declared.has(capability);
  const { hashKey, totpKeys, userTokenKeys } = await readSecrets(config, logger, wants);
  return {
    store: new DynamoDbStore(new DynamoDBClient(awsClientOptions()), config.tableName),
    queue: buildQueue(config),
    signer: buildSigner(config, wants('sign')),
    mailer: await buildMailer(config),
    sms: await buildSmsSender(config),
    clock: { now: () => Date.now() },
    logger,
    audit: await buildAudit(config, logger),
    settings: config.settings,
    hashKey,
    totpKeys,
    userTokenKeys,
  };
}
