/**
 * The whole service on AWS: one Lambda per route of the route table behind an
 * HTTP API, the sessions table, the ES256 KMS key, the hash-key secret, the
 * delivery queue and its sender (the only function that calls SES and SNS),
 * alarms. Every grant is derived from the route's declared
 * capabilities. Takes props only: bin/twofold.ts reads context and env.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Stack, Token, Validations, type StackProps } from 'aws-cdk-lib';
import { Effect, Grant, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { keyPrefix, needsOf, OWNER_KINDS, type FunctionNeeds } from '../functions/access.js';
import { DELIVERY_SENDER } from '../functions/workers.js';
import { settingProblems } from '../functions/config.js';
import { routes as routeTable, type RouteDefinition } from '../functions/routes.js';
import { OperationalAlarms } from './constructs/alarms.js';
import { TwofoldApi } from './constructs/api.js';
import { metricsNamespace, Operations } from './constructs/operations.js';
import { AuditEvents } from './constructs/audit-events.js';
import { Delivery } from './constructs/delivery.js';
import { EndpointFunction } from './constructs/endpoint-function.js';
import { HashKeySecret } from './constructs/hash-key-secret.js';
import { PublishedKeys } from './constructs/published-keys.js';
import { SessionsTable } from './constructs/sessions-table.js';
import { SigningKey } from './constructs/signing-key.js';
import { TotpKeySecret } from './constructs/totp-key-secret.js';
import { DEFAULT_ROUTE_THROTTLE, throttleTable, type RouteThrottle, type Throttle } from './throttles.js';
import { UserTokenKeySecret } from './constructs/user-token-key-secret.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface TwofoldStackProps extends StackProps {
  /** Verified SES identity that sends passcodes and links (`no-reply@example.com`). */
  readonly senderEmail: string;
  /** SES configuration set for delivery events. */
  readonly sesConfigurationSet?: string;
  /**
   * More SES identities the mailer may use, e.g. verified recipients while the
   * account is in the SES sandbox.
   */
  readonly extraEmailIdentities?: readonly string[];
  /** Alphanumeric SMS sender ID (1-11 characters), where countries support it. */
  readonly smsSenderId?: string;
  /** `iss` of every token. @default the HTTP API URL */
  readonly issuer?: string;
  /** CORS origins; none by default. */
  readonly allowedOrigins?: readonly string[];
  /** Bump to rotate the signing key (see docs/deploy.md). @default 1 */
  readonly signingKeyGeneration?: number;
  /** ARNs of earlier signing keys still listed in the JWKS. */
  readonly previousKeyArns?: readonly string[];
  /** Rotation phase 1: create and publish the next generation's key without signing with it. @default false */
  readonly publishNextSigningKey?: boolean;
  /** TOTP key versions in use, the sealing one first (docs/deploy.md). @default ['1'] */
  readonly totpKeyIds?: readonly string[];
  /** User-token key versions in use, the minting one first (docs/deploy.md). @default ['1'] */
  readonly userTokenKeyIds?: readonly string[];
  /** @default 'Twofold' */
  readonly appName?: string;
  /**
   * Every deployable level logs errors, so the KMS error alarm (a metric filter
   * on the `dependency failure` error line) works at each; `silent` is for tests only.
   * @default 'info'
   */
  readonly logLevel?: DeployedLogLevel;
  /** @default one month */
  readonly logRetention?: RetentionDays;
  /** The rate (requests/s) and burst of each route that no quota bounds (lib/throttles.ts). @default DEFAULT_ROUTE_THROTTLE */
  readonly throttle?: Throttle;
  /** Per route name: its own rate and burst, instead of the throttle table's. */
  readonly routeThrottles?: Readonly<Record<string, Throttle>>;
  /** The account's KMS request quota for ECC keys (Sign): each signing route gets 90% of it per signature. @default KMS_ECC_SIGN_QUOTA */
  readonly kmsSignQuota?: number;
  /** Also send audit events to an EventBridge bus of the stack, kept in a log group (docs/audit.md). @default false: log only */
  readonly auditEvents?: boolean;
  /** SNS topic ARN that alarms notify. */
  readonly alarmTopicArn?: string;
  /** Delivery sender instances at once (the SQS event source's maximum concurrency), matched to the SES and SNS rates. @default DEFAULT_SENDER_CONCURRENCY */
  readonly deliveryConcurrency?: number;
  /** @default the route table of functions/routes.ts */
  readonly routes?: readonly RouteDefinition[];
  /** @default the repository root */
  readonly projectRoot?: string;
}

const EMAIL = /^[^\s@<>]+@([^\s@<>]+)$/;

export const DEPLOYED_LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type DeployedLogLevel = (typeof DEPLOYED_LOG_LEVELS)[number];

export { DEFAULT_ROUTE_THROTTLE, KMS_ECC_SIGN_QUOTA } from './throttles.js';

export class TwofoldStack extends Stack {
  readonly sessions: SessionsTable;
  readonly signingKey: SigningKey;
  /** The signing keys' public halves, read at deploy time for every function's SIGNING_PUBLIC_KEYS. */
  readonly publishedKeys: PublishedKeys;
  readonly hashKey: HashKeySecret;
  readonly totpKeys: TotpKeySecret;
  readonly userTokenKeys: UserTokenKeySecret;
  readonly api: TwofoldApi;
  readonly alarms: OperationalAlarms;
  /** The dashboard, the anomaly alarms and the saved log queries (docs/operations.md). */
  readonly operations: Operations;
  /** Present only when `auditEvents` is on. */
  readonly audit?: AuditEvents;
  /** The delivery queue, its sender and dead-letter queue. */
  readonly delivery: Delivery;
  /** One per route, in route-table order. */
  readonly endpoints: EndpointFunction[] = [];
  readonly issuer: string;
  /** Each route's throttle, by route name (lib/throttles.ts). */
  readonly throttles: ReadonlyMap<string, RouteThrottle>;

  constructor(scope: Construct, id: string, props: TwofoldStackProps) {
    super(scope, id, props);
    const senderDomain = EMAIL.exec(props.senderEmail)?.[1];
    if (!senderDomain) throw new Error(`senderEmail must be a plain email address, got "${props.senderEmail}"`);
    if (props.smsSenderId !== undefined && !/^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$/.test(props.smsSenderId)) {
      throw new Error('smsSenderId must be 1 to 11 letters or digits, with at least one letter');
    }
    if (props.issuer !== undefined && !/^https?:\/\/[^\s/]+/.test(props.issuer)) throw new Error(`issuer must be an http(s) URL, got "${props.issuer}"`);
    const routes = props.routes ?? routeTable;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    if (props.logLevel !== undefined && !DEPLOYED_LOG_LEVELS.includes(props.logLevel)) {
      throw new Error(`logLevel must be ${DEPLOYED_LOG_LEVELS.join(', ')} (every one logs the errors the KMS alarm counts), got "${props.logLevel}"`);
    }
    const defaultThrottle = props.throttle ?? DEFAULT_ROUTE_THROTTLE;
    this.throttles = throttleTable(routes, { kmsSignQuota: props.kmsSignQuota, defaultThrottle, overrides: props.routeThrottles });

    this.sessions = new SessionsTable(this, 'Sessions');
    this.signingKey = new SigningKey(this, 'Signing', {
      generation: props.signingKeyGeneration,
      previousKeyArns: props.previousKeyArns,
      publishNextKey: props.publishNextSigningKey,
    });
    this.publishedKeys = new PublishedKeys(this, 'PublishedKeys', { signingKey: this.signingKey, projectRoot: props.projectRoot ?? PROJECT_ROOT, logRetention });
    this.hashKey = new HashKeySecret(this, 'HashKey');
    this.totpKeys = new TotpKeySecret(this, 'TotpKeys');
    this.userTokenKeys = new UserTokenKeySecret(this, 'UserTokenKeys');
    this.api = new TwofoldApi(this, 'Api', {
      throttles: this.throttles,
      defaultThrottle,
      accessLogRetention: logRetention,
      allowedOrigins: props.allowedOrigins,
      apiName: this.stackName,
    });
    // The API's own URL unless overridden; `aud` of client tokens is `${issuer}/cis`, so no trailing slash.
    this.issuer = props.issuer?.replace(/\/+$/, '') ?? this.api.url;

    const environment: Record<string, string> = {
      TABLE_NAME: this.sessions.table.tableName,
      ISSUER: this.issuer,
      KMS_KEY_ID: this.signingKey.key.keyArn,
      // Read from KMS at deploy time, current key first: verifying a token or serving the JWKS calls no KMS.
      SIGNING_PUBLIC_KEYS: this.publishedKeys.keys,
      HASH_KEY_SECRET_ARN: this.hashKey.secret.secretArn,
      TOTP_KEY_SECRET_ARN: this.totpKeys.secret.secretArn,
      TOTP_KEY_IDS: (props.totpKeyIds ?? ['1']).join(','),
      USER_TOKEN_KEY_SECRET_ARN: this.userTokenKeys.secret.secretArn,
      USER_TOKEN_KEY_IDS: (props.userTokenKeyIds ?? ['1']).join(','),
      SES_FROM_ADDRESS: props.senderEmail,
      APP_NAME: props.appName ?? 'Twofold',
      LOG_LEVEL: props.logLevel ?? 'info',
      METRICS_NAMESPACE: metricsNamespace(this.stackName),
    };
    if (props.sesConfigurationSet) environment.SES_CONFIGURATION_SET = props.sesConfigurationSet;
    if (props.smsSenderId) environment.SMS_SENDER_ID = props.smsSenderId;
    // Every value known at synth is checked by the functions' own rules: a bad one fails here, not in every function.
    const problems = settingProblems(Object.fromEntries(Object.entries(environment).filter(([, value]) => !Token.isUnresolved(value))));
    if (problems.length) throw new Error(`invalid settings: ${problems.join('; ')}`);

    const sesResources = [
      ...new Set([props.senderEmail, senderDomain, ...(props.extraEmailIdentities ?? [])]),
    ].map((identity) => this.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }));
    if (props.sesConfigurationSet) {
      sesResources.push(this.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: props.sesConfigurationSet }));
    }

    if (props.auditEvents) this.audit = new AuditEvents(this, 'Audit', { retention: RetentionDays.ONE_YEAR });

    // The sender, not the routes, calls SES and SNS; routes that send put their deliveries on its queue.
    this.delivery = new Delivery(this, 'Delivery', {
      projectRoot: props.projectRoot ?? PROJECT_ROOT,
      environment: this.audit ? { ...environment, AUDIT_EVENT_BUS: this.audit.bus.eventBusName } : environment,
      logRetention,
      bundleSettings: { auditEvents: this.audit !== undefined },
      maxConcurrency: props.deliveryConcurrency,
      alarmTopicArn: props.alarmTopicArn,
    });
    this.grantCapabilities(this.delivery.role, DELIVERY_SENDER, sesResources, props.senderEmail, false);
    environment.DELIVERY_QUEUE_URL = this.delivery.queue.queueUrl;

    for (const route of routes) {
      // Only the functions that emit audit events know the bus (and load the EventBridge client).
      const audits = this.audit !== undefined && (route.capabilities ?? []).includes('audit');
      const endpoint = new EndpointFunction(this, `Endpoint-${route.name}`, {
        route,
        projectRoot: props.projectRoot ?? PROJECT_ROOT,
        environment: audits ? { ...environment, AUDIT_EVENT_BUS: this.audit!.bus.eventBusName } : environment,
        logRetention,
        bundleSettings: { auditEvents: this.audit !== undefined },
      });
      this.endpoints.push(endpoint);
      this.api.addRoute(route, endpoint.fn);
      this.grantCapabilities(endpoint.role, route, sesResources, props.senderEmail, true);
    }

    this.alarms = new OperationalAlarms(this, 'Alarms', {
      api: this.api.httpApi,
      functions: [...this.endpoints.map((e) => e.fn), this.delivery.sender],
      kmsLogGroups: this.endpoints.filter((e) => needsOf(e.route).capabilities.has('sign')).map((e) => e.logGroup),
      alarmTopicArn: props.alarmTopicArn,
    });
    this.operations = new Operations(this, 'Operations', {
      namespace: metricsNamespace(this.stackName),
      routes: this.endpoints.map((e) => ({ label: `${e.route.method} ${e.route.path}`, fn: e.fn, logGroup: e.logGroup, audits: (e.route.capabilities ?? []).includes('audit') })),
      api: this.api.httpApi,
      table: this.sessions.table,
      kmsErrorMetric: this.alarms.kmsErrorMetric,
      alarmTopicArn: props.alarmTopicArn,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the API' });
    new CfnOutput(this, 'ApiId', { value: this.api.httpApi.apiId, description: 'For a custom domain API mapping' });
    new CfnOutput(this, 'Issuer', { value: this.issuer, description: 'iss of every token' });
    new CfnOutput(this, 'TableName', { value: this.sessions.table.tableName, description: 'TABLE_NAME for `npm run client`' });
    new CfnOutput(this, 'SigningKeyArn', { value: this.signingKey.key.keyArn, description: 'Pass as previousKeyArn when rotating' });
    new CfnOutput(this, 'HashKeySecretArn', { value: this.hashKey.secret.secretArn });
    new CfnOutput(this, 'DeliveryQueueUrl', { value: this.delivery.queue.queueUrl, description: 'Queued deliveries (sealed)' });
    new CfnOutput(this, 'DeliveryDeadLetterQueueUrl', { value: this.delivery.deadLetterQueue.queueUrl, description: 'Deliveries that failed for good (sealed); alarmed' });
    new CfnOutput(this, 'TotpKeySecretArn', { value: this.totpKeys.secret.secretArn, description: '--secret-id for `npm run totp-keys`' });
    new CfnOutput(this, 'UserTokenKeySecretArn', { value: this.userTokenKeys.secret.secretArn, description: 'The user access tokens\' keys, for a rotation' });
    if (this.signingKey.nextKey) {
      new CfnOutput(this, 'NextSigningKeyArn', { value: this.signingKey.nextKey.keyArn, description: 'The key the next rotation phase signs with' });
    }
    if (this.audit) new CfnOutput(this, 'AuditEventBusArn', { value: this.audit.bus.eventBusArn, description: 'Audit events (source twofold); add a rule to feed a SIEM' });

    this.suppressReviewedFindings();
  }

  /**
   * Least privilege from the route table (functions/access.ts): each route's
   * role gets what the route declares and its auth implies, nothing else.
   * Table access carries a `dynamodb:LeadingKeys` condition on the key prefixes
   * of the record kinds declared; a route that declares nothing gets no table,
   * no secret and no key.
   */
  private grantCapabilities(role: Role, route: FunctionNeeds, sesResources: string[], senderEmail: string, enqueues: boolean): void {
    const endpoint = { role };
    const needs = needsOf(route);
    const has = (capability: Parameters<typeof needs.capabilities.has>[0]) => needs.capabilities.has(capability);
    const records = [...needs.read].filter((kind) => !OWNER_KINDS.has(kind));
    const owners = [...needs.read].filter((kind) => OWNER_KINDS.has(kind));
    if (records.length) this.sessions.grantRead(endpoint.role, records.map(keyPrefix));
    if (owners.length) this.sessions.grantQueryOwners(endpoint.role, owners.map(keyPrefix));
    if (needs.write.size) this.sessions.grantWrite(endpoint.role, [...needs.write].map(keyPrefix));
    if (has('hash-key')) this.hashKey.grantRead(endpoint.role);
    if (has('totp-key')) this.totpKeys.grantRead(endpoint.role);
    if (has('user-token-key')) this.userTokenKeys.grantRead(endpoint.role);
    if (has('sign')) this.signingKey.grantSign(endpoint.role);
    if (has('audit') && this.audit) this.audit.grantPut(endpoint.role);
    // `queue` on a route puts deliveries on the queue; the sender's queue rights come with its event source.
    if (has('queue') && enqueues) this.delivery.queue.grantSendMessages(endpoint.role);
    if (has('email')) {
      Grant.addToPrincipal({
        grantee: endpoint.role,
        actions: ['ses:SendEmail'],
        resourceArns: sesResources,
        conditions: { StringEquals: { 'ses:FromAddress': senderEmail } },
      });
    }
    if (has('sms')) {
      Grant.addToPrincipal({ grantee: endpoint.role, actions: ['sns:Publish'], resourceArns: ['*'] });
      // The "*" above is only for a PhoneNumber target; a topic or endpoint ARN is never one.
      endpoint.role.addToPrincipalPolicy(
        new PolicyStatement({ effect: Effect.DENY, actions: ['sns:Publish'], resources: [this.formatArn({ service: 'sns', region: '*', account: '*', resource: '*' })] }),
      );
      Validations.of(endpoint.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Publishing an SMS straight to a phone number has no resource ARN: IAM only accepts "*" for sns:Publish to a PhoneNumber. Only functions whose route declares the sms capability get it, and a Deny on every SNS ARN keeps them off topics.',
      });
    }
  }

  /**
   * cdk-nag findings reviewed and accepted, each with its reason (cdk-nag v3
   * reads CDK's own acknowledgements; they apply to the construct and its children).
   */
  private suppressReviewedFindings(): void {
    Validations.of(this.api.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'Authorization happens in each function: /cis/v1 routes verify the client access token (ES256 JWT: signature, issuer, audience, typ) in the endpoint middleware; /oidc/token authenticates client credentials; JWKS, discovery and OpenAPI are public by contract.',
    });
    for (const fn of [...this.endpoints.map((e) => e.fn), this.delivery.sender]) {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'Pinned to nodejs22.x, the runtime the bundles target (esbuild target node22) and the code is tested on; a newer runtime is a deliberate upgrade, not an automatic one.',
      });
    }
  }
}
