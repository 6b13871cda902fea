/**
 * The Lambda configuration, read from the environment once per cold start and
 * validated with one schema. A bad deployment fails naming every missing or
 * invalid key at once (never echoing the values), instead of one key per try.
 */
import './zod-english.js';
import * as z from 'zod/mini';
import { SEAL_KEY_ID } from './core/crypto.js';
import type { CoreSettings } from './core/deps.js';
import type { LogLevel } from './adapters/logger.js';
import { parsePublishedKeys, type PublishedJwk } from './published-keys.js';

/** Unset and empty are the same thing for an optional variable (CloudFormation cannot omit one conditionally). */
const optional = <T extends z.ZodMiniType>(schema: T) => z.pipe(z.transform((v: unknown) => (v === '' ? undefined : v)), z.optional(schema));
const required = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? 'is missing' : `must be ${what}`) }).check(z.trim(), z.minLength(1, `must be ${what}`));
const trimmed = () => z.string().check(z.trim(), z.minLength(1));

/** A comma-separated list of key versions in use, the one that seals or mints first; default `1`. */
const keyVersions = () =>
  z.pipe(
    optional(
      z.pipe(
        z.pipe(z.string(), z.transform((list) => list.split(',').map((id) => id.trim()).filter(Boolean))),
        z
          .array(z.string().check(z.regex(SEAL_KEY_ID, 'must be a comma-separated list of key versions (letters, digits, _ or -)')))
          .check(z.minLength(1, 'must name at least one key version')),
      ),
    ),
    z.transform((ids) => ids ?? ['1']),
  );

// Built on first use: a cold start that never reads its configuration (the bench's import) builds nothing.
const envSchema = () =>
  z.object({
    TABLE_NAME: required('a DynamoDB table name'),
    ISSUER: z.pipe(
      z.pipe(required('an http(s) URL'), z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })),
      // `aud` of client tokens is `${issuer}/cis`: a trailing slash would double it.
      z.transform((url) => url.replace(/\/+$/, '')),
    ),
    KMS_KEY_ID: required('a KMS key id, ARN or alias'),
    // The public keys, put in at deploy time (functions/published-keys.ts): the signing key's first, then a rotation's next and previous keys.
    SIGNING_PUBLIC_KEYS: z.pipe(
      z.string({ error: 'is missing' }),
      z.transform((raw: string, payload) => {
        try {
          return parsePublishedKeys(raw);
        } catch (error) {
          payload.issues.push({ code: 'custom', message: `is invalid: ${(error as Error).message}`, input: raw });
          return z.NEVER;
        }
      }),
    ),
    HASH_KEY_SECRET_ARN: required('a Secrets Manager secret ARN or name'),
    TOTP_KEY_SECRET_ARN: required('a Secrets Manager secret ARN or name'),
    // The TOTP key versions in use, the sealing one first (docs/deploy.md, rotating the TOTP key).
    TOTP_KEY_IDS: keyVersions(),
    USER_TOKEN_KEY_SECRET_ARN: required('a Secrets Manager secret ARN or name'),
    // The user-token key versions in use, the minting one first (docs/deploy.md, rotating the user-token key).
    USER_TOKEN_KEY_IDS: keyVersions(),
    SES_FROM_ADDRESS: z.pipe(required('an email address'), z.string().check(z.regex(/^[^\s@]+@[^\s@]+$|<[^\s@]+@[^\s@]+>$/, 'must be an email address'))),
    SES_CONFIGURATION_SET: optional(trimmed()),
    // SNS sender IDs: 1 to 11 letters and digits, at least one letter.
    SMS_SENDER_ID: optional(z.string().check(z.regex(/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/, 'must be 1 to 11 letters or digits, with a letter'))),
    APP_NAME: z.pipe(optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(64))), z.transform((v) => v ?? 'Twofold')),
    // The delivery queue sends put their messages on, and (the delivery sender only) its dead-letter queue.
    DELIVERY_QUEUE_URL: optional(trimmed()),
    DELIVERY_DEAD_LETTER_QUEUE_URL: optional(trimmed()),
    // The EventBridge bus for audit events (docs/audit.md); unset: audit events go to the log only.
    AUDIT_EVENT_BUS: optional(trimmed()),
    // The CloudWatch namespace of the embedded metrics (core/metrics.ts); the stack sets `Twofold/<stack name>`.
    METRICS_NAMESPACE: optional(z.string().check(z.regex(/^[A-Za-z0-9.\-_/#:]{1,255}$/, 'must be a CloudWatch namespace (letters, digits and . - _ / # :)'))),
    LOG_LEVEL: z.pipe(
      optional(z.enum(['info', 'warn', 'error', 'silent'], { error: 'must be info, warn, error or silent' })),
      z.transform((v): LogLevel => v ?? 'info'),
    ),
  });

let builtEnvSchema: ReturnType<typeof envSchema> | undefined;
const EnvSchema = () => (builtEnvSchema ??= envSchema());

export interface Config {
  tableName: string;
  /** The key that signs, and the public keys every verifier trusts (its own first). */
  kms: { keyId: string; publicKeys: readonly PublishedJwk[] };
  hashKeySecretArn: string;
  /** The TOTP keyring secret and the versions in use, the sealing one first. */
  totpKeys: { secretArn: string; ids: readonly string[] };
  /** The user-token keyring secret and the versions in use, the minting one first. */
  userTokenKeys: { secretArn: string; ids: readonly string[] };
  ses: { fromAddress: string; configurationSet?: string };
  sms: { senderId?: string };
  /** The delivery queue (sends and the delivery sender) and its dead-letter queue (the sender). */
  delivery: { queueUrl?: string; deadLetterQueueUrl?: string };
  logLevel: LogLevel;
  /** EventBridge bus name or ARN that receives audit events, when enabled. */
  auditEventBus?: string;
  settings: CoreSettings;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** OWASP Password Storage Cheat Sheet scrypt parameters. */
export const SCRYPT_PARAMETERS = { N: 2 ** 17, r: 8, p: 1 } as const;
export const TOKEN_TTL_SECONDS = 3600;

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Validates `env`; throws ConfigError listing every problem. Pure: tests call it directly. */
export function parseConfig(env: Record<string, string | undefined>): Readonly<Config> {
  const parsed = EnvSchema().safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'environment'} ${issue.message}`));
  }
  const e = parsed.data;
  return deepFreeze({
    tableName: e.TABLE_NAME,
    kms: { keyId: e.KMS_KEY_ID, publicKeys: e.SIGNING_PUBLIC_KEYS },
    hashKeySecretArn: e.HASH_KEY_SECRET_ARN,
    totpKeys: { secretArn: e.TOTP_KEY_SECRET_ARN, ids: [...new Set(e.TOTP_KEY_IDS)] },
    userTokenKeys: { secretArn: e.USER_TOKEN_KEY_SECRET_ARN, ids: [...new Set(e.USER_TOKEN_KEY_IDS)] },
    ses: { fromAddress: e.SES_FROM_ADDRESS, ...(e.SES_CONFIGURATION_SET ? { configurationSet: e.SES_CONFIGURATION_SET } : {}) },
    sms: e.SMS_SENDER_ID ? { senderId: e.SMS_SENDER_ID } : {},
    delivery: {
      ...(e.DELIVERY_QUEUE_URL ? { queueUrl: e.DELIVERY_QUEUE_URL } : {}),
      ...(e.DELIVERY_DEAD_LETTER_QUEUE_URL ? { deadLetterQueueUrl: e.DELIVERY_DEAD_LETTER_QUEUE_URL } : {}),
    },
    logLevel: e.LOG_LEVEL,
    ...(e.AUDIT_EVENT_BUS ? { auditEventBus: e.AUDIT_EVENT_BUS } : {}),
    settings: {
      issuer: e.ISSUER,
      appName: e.APP_NAME,
      tokenTtlSeconds: TOKEN_TTL_SECONDS,
      scrypt: { ...SCRYPT_PARAMETERS },
      ...(e.METRICS_NAMESPACE ? { metricsNamespace: e.METRICS_NAMESPACE } : {}),
    },
  });
}

/**
 * Problems with the given variables alone, by the same rules as
 * `parseConfig` (absent ones are not reported): the CDK app checks every value
 * it will deploy with this at synth, so a bad context value fails `cdk synth`
 * instead of every function answering 500.
 */
export function settingProblems(env: Record<string, string>): string[] {
  const parsed = z.partial(EnvSchema()).safeParse(env);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
}

let loaded: Readonly<Config> | undefined;

/** The process configuration, parsed from `process.env` on first use. */
export function loadConfig(): Readonly<Config> {
  loaded ??= parseConfig(process.env);
  return loaded;
}
