/**
 * What the synthesized template promises, asserted rather than snapshotted.
 * The main stack is built once (bundling every function with esbuild); the
 * variant stacks skip bundling, which changes nothing but the asset contents.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { keyPrefix, needsOf, OWNER_KINDS } from '../../functions/access.js';
import { ANSWER_MARGIN_MS } from '../../functions/deadline.js';
import { worstCaseCallMs } from '../../functions/adapters/aws/sdk-options.js';
import { parseConfig } from '../../functions/config.js';
import { jwkFromSpki } from '../../functions/published-keys.js';
import { routes } from '../../functions/routes.js';
import {
  PUBLIC_KEYS_FORMAT_VERSION,
  RESOURCE_ANSWER_MARGIN_MS,
  RESOURCE_SERVICE_TIMEOUT_SECONDS,
  RESOURCE_TIMEOUT_SECONDS,
  RETRY_BUDGET_MS,
} from '../../functions/adapters/aws/public-keys-resource-limits.js';
import { ESM_REQUIRE_BANNER } from '../../lib/constructs/endpoint-function.js';
import { DEFAULT_SENDER_CONCURRENCY, DELIVERY_AGE_ALARM_SECONDS, SENDER_BATCH_SIZE, SENDER_TIMEOUT_SECONDS } from '../../lib/constructs/delivery.js';
import { MAX_DELIVERY_ATTEMPTS } from '../../functions/core/delivery-sender.js';
import { LINK_MAX_MINUTES } from '../../functions/core/magic-links.js';
import { DELIVERY_SENDER } from '../../functions/workers.js';
import { PUBLISHED_KEYS_DESCRIPTION } from '../../lib/constructs/published-keys.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';
import { retainedFixedNames } from '../support/retained-names.js';
import { TwofoldStack, type TwofoldStackProps } from '../../lib/twofold-stack.js';
import { API_GATEWAY_ACCOUNT_RPS, DEFAULT_ROUTE_THROTTLE, KMS_ECC_SIGN_QUOTA, signsPerCall } from '../../lib/throttles.js';

type Resource = { Type: string; Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string; Metadata?: Record<string, unknown> };

const ENV = { account: '123456789012', region: 'us-east-1' };
const PREVIOUS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000';

function build(props: Partial<TwofoldStackProps> = {}, bundle = true): { app: App; stack: TwofoldStack; template: Template } {
  // Asset metadata names each function's bundle directory in the assembly.
  const app = new App({ context: bundle ? { 'aws:cdk:enable-asset-metadata': true } : { 'aws:cdk:bundling-stacks': [] } });
  const stack = new TwofoldStack(app, 'Twofold', { env: ENV, senderEmail: 'no-reply@twofold.example', ...props });
  return { app, stack, template: Template.fromStack(stack) };
}

let app: App;
let template: Template;
let resources: Record<string, Resource>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The functions of the routes: every function but the deploy-time reader of the public keys. */
const isSender = (fn: Resource) => String(fn.Properties.Description).startsWith('Twofold delivery sender');
const isRouteFunction = (fn: Resource) => fn.Type === 'AWS::Lambda::Function' && fn.Properties.Description !== PUBLISHED_KEYS_DESCRIPTION && !isSender(fn);
const senderFunction = () => Object.entries(resources).find(([, r]) => r.Type === 'AWS::Lambda::Function' && isSender(r))!;
const routeFunctions = () => Object.entries(resources).filter(([, r]) => isRouteFunction(r));
/** Stands in for what the custom resource puts in SIGNING_PUBLIC_KEYS at deploy time. */
const DEPLOYED_KEYS = JSON.stringify([jwkFromSpki(new FakeKmsKey('deployed').spki)]);
const capable = (capability: string) => routes.filter((r) => r.capabilities?.includes(capability as never));

/** Function logical id -> route, through the "Twofold <METHOD> <path>" description. */
function routeOfFunction(fn: Resource) {
  const route = routes.find((r) => fn.Properties.Description === `Twofold ${r.method} ${r.path}`);
  if (!route) throw new Error(`no route for function ${fn.Properties.Description}`);
  return route;
}

/** IAM statements of the role of each route, by route name. */
function statementsByRoute(): Map<string, any[]> {
  const byRole = new Map<string, any[]>();
  for (const [, policy] of ofType('AWS::IAM::Policy')) {
    for (const role of policy.Properties.Roles) byRole.set(role.Ref, [...(byRole.get(role.Ref) ?? []), ...policy.Properties.PolicyDocument.Statement]);
  }
  const out = new Map<string, any[]>();
  for (const [, fn] of routeFunctions()) out.set(routeOfFunction(fn).name, byRole.get(fn.Properties.Role['Fn::GetAtt'][0]) ?? []);
  out.set(DELIVERY_SENDER.name, byRole.get(senderFunction()[1].Properties.Role['Fn::GetAtt'][0]) ?? []);
  return out;
}

/** Each route's throttle as the stage deploys it: its route settings, else the stage's default route settings. */
function routeThrottlesOf(all: Record<string, Resource>): Map<string, { rate: number; burst: number }> {
  const stage = Object.values(all).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')!;
  const fallback = stage.Properties.DefaultRouteSettings;
  const out = new Map<string, { rate: number; burst: number }>();
  for (const route of Object.values(all).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')) {
    const key = route.Properties.RouteKey as string;
    const own = stage.Properties.RouteSettings?.[key] ?? fallback;
    out.set(key, { rate: own.ThrottlingRateLimit, burst: own.ThrottlingBurstLimit });
  }
  return out;
}

const actionsOf = (statement: any): string[] => [statement.Action].flat();
const resourcesOf = (statement: any): unknown[] => [statement.Resource].flat();
const allows = (statements: any[], action: string) => statements.some((s) => s.Effect === 'Allow' && actionsOf(s).includes(action));


beforeAll(() => {
  ({ app, template } = build());
  resources = template.toJSON().Resources;
}, 240_000);

describe('the Twofold stack', () => {
  it('has one function per route of the route table and the deploy-time reader of the public keys, on nodejs22.x and arm64', () => {
    template.resourceCountIs('AWS::Lambda::Function', routes.length + 2); // and the delivery sender
    const described = routeFunctions().map(([, fn]) => routeOfFunction(fn).name).sort();
    expect(described).toEqual(routes.map((r) => r.name).sort());
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    }
  });

  it('bundles each handler as minified ESM with the createRequire banner, without the local-only code', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function').slice(0, 3)) {
      const bundle = readFileSync(join(app.outdir, String(fn.Metadata!['aws:asset:path']), 'index.mjs'), 'utf8');
      expect(bundle.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      expect(bundle).toMatch(/export\s*\{[^}]*\bhandler\b/);
      // Minified: few, very long lines.
      expect(bundle.split('\n').length).toBeLessThan(200);
      expect(bundle).not.toContain('dynalite');
      // Credentials come from the environment: no STS or SSO client from the default provider chain.
      expect(bundle).not.toContain('AWSSecurityTokenServiceV20110615');
      // No event-stream code (an alias, test/infra/bundles.test.ts): no Twofold call has an event stream.
      expect(bundle).not.toContain('Truncated event message received');
      expect(bundle).not.toContain('/local/outbox');
    }
  });

  it('bundles each AWS client only into the routes that use it: SES email, SNS SMS, KMS signing, Secrets Manager secrets, EventBridge none (audit bus off)', () => {
    const sizes: Record<string, number> = {};
    for (const [, fn] of routeFunctions()) {
      const route = routeOfFunction(fn);
      const has = (capability: string) => needsOf(route).capabilities.has(capability as never);
      const bundle = readFileSync(join(app.outdir, String(fn.Metadata!['aws:asset:path']), 'index.mjs'), 'utf8');
      sizes[route.name] = bundle.length;
      expect(bundle.includes('SimpleEmailService'), `${route.name} SES`).toBe(has('email'));
      expect(bundle.includes('AmazonSimpleNotificationService'), `${route.name} SNS`).toBe(has('sms'));
      expect(bundle.includes('TrentService'), `${route.name} KMS`).toBe(has('sign'));
      expect(bundle.includes('secretsmanager'), `${route.name} Secrets Manager`).toBe(has('hash-key') || has('totp-key') || has('user-token-key'));
      expect(bundle.includes('AWSEvents'), `${route.name} EventBridge`).toBe(false);
    }
    // The public metadata routes and the JWKS carry no SDK, zod or middy: they cold-start like an empty handler.
    for (const name of ['oidc-discovery', 'oidc-discovery-well-known', 'oidc-jwks']) expect(sizes[name], name).toBeLessThan(4_000);
    expect(sizes.openapi).toBeLessThan(120_000);
  });

  it('routes exactly the route table through the HTTP API, each to its own function, and nothing local', () => {
    const routeKeys = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routeKeys.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    expect(routeKeys.some((key) => key.includes('/local'))).toBe(false);
    for (const [, route] of ofType('AWS::ApiGatewayV2::Route')) {
      const integrationId = route.Properties.Target['Fn::Join'][1][1].Ref;
      const integration = resources[integrationId]!;
      expect(integration.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      const fn = resources[integration.Properties.IntegrationUri['Fn::GetAtt'][0]]!;
      expect(`${routeOfFunction(fn).method} ${routeOfFunction(fn).path}`).toBe(route.Properties.RouteKey);
    }
  });

  it('keeps sessions in one on-demand table with TTL and point-in-time recovery, retained on deletion (not on the rollback of the deploy that created it) under a stable id', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    const table = resources.SessionsTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'o', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [{ IndexName: 'owner', KeySchema: [{ AttributeName: 'o', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('signs with an ECC_NIST_P256 SIGN_VERIFY KMS key that has an alias and is retained, except when the deploy that created it rolls back', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    expect(resources.SigningKey).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
      Properties: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' },
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/Twofold-signing', TargetKeyId: { 'Fn::GetAtt': ['SigningKey', 'Arn'] } });
  });

  it('lets only the token-issuing functions kms:Sign, with ES256 over a digest on the current key', () => {
    const byRoute = statementsByRoute();
    const signers = [...byRoute].filter(([, statements]) => allows(statements, 'kms:Sign')).map(([name]) => name);
    expect(signers.sort()).toEqual(capable('sign').map((r) => r.name).sort());
    expect(signers.length).toBeGreaterThan(0);
    for (const name of signers) {
      const sign = byRoute.get(name)!.filter((s) => actionsOf(s).includes('kms:Sign'));
      expect(sign).toEqual([
        {
          Effect: 'Allow',
          Action: 'kms:Sign',
          Resource: { 'Fn::GetAtt': ['SigningKey', 'Arn'] },
          Condition: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' } },
        },
      ]);
    }
  });

  it('grants each route exactly the table records it declares, read-only where it only reads, under LeadingKeys conditions', () => {
    const byRoute = statementsByRoute();
    const leading = (kinds: Iterable<string>) => ({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...kinds].map((k) => `${keyPrefix(k as never)}*`).sort() } });
    for (const route of routes) {
      const needs = needsOf(route);
      const table = byRoute.get(route.name)!.filter((s) => actionsOf(s)[0]!.startsWith('dynamodb:'));
      const expected = [];
      const records = [...needs.read].filter((kind) => !OWNER_KINDS.has(kind));
      const owners = [...needs.read].filter((kind) => OWNER_KINDS.has(kind));
      if (records.length) expected.push({ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: { 'Fn::GetAtt': ['SessionsTable', 'Arn'] }, Condition: leading(records) });
      if (owners.length) {
        expected.push({
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['SessionsTable', 'Arn'] }, '/index/owner']] },
          Condition: leading(owners),
        });
      }
      if (needs.write.size) {
        expected.push({
          Effect: 'Allow',
          Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          Resource: { 'Fn::GetAtt': ['SessionsTable', 'Arn'] },
          Condition: leading(needs.write),
        });
      }
      expect(table, route.name).toEqual(expected);
    }
  });

  it('lets the read-only lookups only read: users-get may read user records, and nothing else of the table', () => {
    const table = statementsByRoute().get('users-get')!.filter((s) => actionsOf(s)[0]!.startsWith('dynamodb:'));
    expect(table).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'],
        Resource: { 'Fn::GetAtt': ['SessionsTable', 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['client#*', 'user#*'] } },
      },
    ]);
  });

  it('gives the public JWKS, discovery and OpenAPI functions no table, no secret and no key', () => {
    const byRoute = statementsByRoute();
    for (const name of ['oidc-jwks', 'oidc-discovery', 'oidc-discovery-well-known', 'openapi']) {
      const services = new Set(byRoute.get(name)!.map((s) => actionsOf(s)[0]!.split(':')[0]));
      expect([...services].filter((service) => service !== 'logs'), name).toEqual([]);
    }
  });

  it('reads the public keys from KMS at deploy time into every function, and lets no function call GetPublicKey', () => {
    const [[resourceId, keys]] = ofType('Custom::TwofoldSigningPublicKeys') as [[string, Resource]];
    expect(keys.Properties.KeyIds).toEqual([{ 'Fn::GetAtt': ['SigningKey', 'Arn'] }]);
    const [[readerId, reader]] = ofType('AWS::Lambda::Function').filter(([, fn]) => !isRouteFunction(fn)) as [[string, Resource]];
    expect(keys.Properties.ServiceToken).toEqual({ 'Fn::GetAtt': [readerId, 'Arn'] });
    for (const [, fn] of routeFunctions()) expect(fn.Properties.Environment.Variables.SIGNING_PUBLIC_KEYS).toEqual({ 'Fn::GetAtt': [resourceId, 'Keys'] });
    for (const [name, statements] of statementsByRoute()) expect(allows(statements, 'kms:GetPublicKey'), name).toBe(false);
    const readerStatements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: any) => r.Ref === reader.Properties.Role['Fn::GetAtt'][0]))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(readerStatements.filter((s: any) => !actionsOf(s)[0]!.startsWith('logs:'))).toEqual([
      { Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: { 'Fn::GetAtt': ['SigningKey', 'Arn'] } },
    ]);
  });

  it('runs the public keys resource again when the version of its answer changes, and gives it the time to wait out a new key or grant', () => {
    const [[, keys]] = ofType('Custom::TwofoldSigningPublicKeys') as [[string, Resource]];
    expect(keys.Properties.FormatVersion).toBe(PUBLIC_KEYS_FORMAT_VERSION);
    // CloudFormation fails a resource that never answers after this, not after an hour.
    expect(keys.Properties.ServiceTimeout).toBe(String(RESOURCE_SERVICE_TIMEOUT_SECONDS));
    const [[, reader]] = ofType('AWS::Lambda::Function').filter(([, fn]) => !isRouteFunction(fn)) as [[string, Resource]];
    expect(reader.Properties.Timeout).toBe(RESOURCE_TIMEOUT_SECONDS);
    // Retries start until the budget is spent; the last call, then the answer, still fit the timeout.
    expect(RETRY_BUDGET_MS).toBeGreaterThanOrEqual(120_000);
    expect(RETRY_BUDGET_MS + worstCaseCallMs() + RESOURCE_ANSWER_MARGIN_MS).toBeLessThan(reader.Properties.Timeout * 1000);
    expect(reader.Properties.Timeout).toBeLessThan(RESOURCE_SERVICE_TIMEOUT_SECONDS);
  });

  it('retains no resource under a fixed name that a later create could meet again', () => {
    expect(retainedFixedNames(resources)).toEqual([]);
  });

  it('lets a function read the hash key, the TOTP keys, the user-token keys and the public keys only when its route needs them', () => {
    const byRoute = statementsByRoute();
    const reads = (statements: any[], secret: string) =>
      statements.some((s) => s.Effect === 'Allow' && actionsOf(s).includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource) === JSON.stringify({ Ref: secret }));
    for (const route of routes) {
      const needs = needsOf(route);
      const statements = byRoute.get(route.name)!;
      expect(reads(statements, 'HashKeySecret'), `${route.name} hash key`).toBe(needs.capabilities.has('hash-key'));
      expect(reads(statements, 'TotpKeySecret'), `${route.name} TOTP keys`).toBe(needs.capabilities.has('totp-key'));
      // Every route that answers with a token response mints a user access token; every user-token route checks one; nothing else holds the key.
      const userTokens = (route.capabilities?.includes('sign') && route.auth !== 'client_credentials') || route.auth === 'user';
      expect(reads(statements, 'UserTokenKeySecret'), `${route.name} user-token keys`).toBe(userTokens);
      expect(allows(statements, 'kms:Sign'), `${route.name} signing`).toBe(needs.capabilities.has('sign'));
    }
  });

  it('grants no wildcard action anywhere and no wildcard resource on KMS, DynamoDB, Secrets Manager or SES', () => {
    for (const [name, statements] of statementsByRoute()) {
      for (const statement of statements) {
        for (const action of actionsOf(statement)) expect(action, name).not.toMatch(/\*/);
        const service = actionsOf(statement)[0]!.split(':')[0]!;
        if (['kms', 'dynamodb', 'secretsmanager', 'ses', 'logs'].includes(service)) {
          expect(resourcesOf(statement), `${name} ${service}`).not.toContain('*');
        }
      }
    }
  });

  it('lets only the delivery sender send from the sender identity and publish SMS: no route calls SES or SNS', () => {
    expect(capable('email')).toEqual([]);
    expect(capable('sms')).toEqual([]);
    const byRoute = statementsByRoute();
    const senders = [...byRoute].filter(([, s]) => allows(s, 'ses:SendEmail')).map(([name]) => name);
    expect(senders).toEqual([DELIVERY_SENDER.name]);
    for (const name of senders) {
      const statement = byRoute.get(name)!.find((s) => actionsOf(s).includes('ses:SendEmail'));
      expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@twofold.example' } });
      expect(JSON.stringify(statement.Resource)).toContain(':ses:us-east-1:123456789012:identity/no-reply@twofold.example');
    }
    const publishers = [...byRoute].filter(([, s]) => allows(s, 'sns:Publish')).map(([name]) => name);
    expect(publishers).toEqual([DELIVERY_SENDER.name]);
    // The phone-number grant can never publish to a topic (or any other SNS ARN).
    for (const name of publishers) {
      expect(byRoute.get(name), name).toContainEqual({
        Effect: 'Deny',
        Action: 'sns:Publish',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sns:*:*:*']] },
      });
    }
  });

  it('hands every function a configuration that functions/config.ts accepts, with the API URL as issuer', () => {
    for (const [, fn] of routeFunctions()) {
      const variables = fn.Properties.Environment.Variables;
      expect(variables.ISSUER).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ApiHttpApi/), 'ApiEndpoint'] });
      expect(variables.KMS_KEY_ID).toEqual({ 'Fn::GetAtt': ['SigningKey', 'Arn'] });
      expect(variables.TABLE_NAME).toEqual({ Ref: 'SessionsTable' });
      expect(variables.HASH_KEY_SECRET_ARN).toEqual({ Ref: 'HashKeySecret' });
      expect(variables.TOTP_KEY_SECRET_ARN).toEqual({ Ref: 'TotpKeySecret' });
      expect(variables.TOTP_KEY_IDS).toBe('1');
      // Tokens resolve at deploy time: stand in plausible values and parse.
      const deployed = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [
          key,
          typeof value === 'string' ? value : key === 'ISSUER' ? 'https://abc.execute-api.us-east-1.amazonaws.com' : key === 'SIGNING_PUBLIC_KEYS' ? DEPLOYED_KEYS : 'resolved-at-deploy',
        ]),
      ) as Record<string, string>;
      expect(() => parseConfig(deployed)).not.toThrow();
    }
  });

  it('throttles each route by what bounds it: every signing route at 90% of the KMS Sign quota per signature, the rest at a generous default, none at an even split', () => {
    const throttles = routeThrottlesOf(resources);
    const evenSplit = Math.floor((300 / routes.length) * 100) / 100;
    for (const route of routes) {
      const { rate, burst } = throttles.get(`${route.method} ${route.path}`)!;
      if (signsPerCall(route) > 0) {
        expect(rate * signsPerCall(route), route.name).toBeGreaterThanOrEqual(0.9 * KMS_ECC_SIGN_QUOTA);
        expect(rate * signsPerCall(route), route.name).toBeLessThanOrEqual(KMS_ECC_SIGN_QUOTA);
      } else {
        expect({ rate, burst }, route.name).toEqual({ rate: DEFAULT_ROUTE_THROTTLE.rateLimit, burst: DEFAULT_ROUTE_THROTTLE.burstLimit });
      }
      expect(rate, route.name).not.toBe(evenSplit);
      expect(rate, route.name).toBeLessThanOrEqual(API_GATEWAY_ACCOUNT_RPS / 10);
      expect(burst, route.name).toBeGreaterThanOrEqual(1);
    }
    // The login routes the issue names, at 270 requests/s each: one KMS Sign per token response.
    for (const key of ['POST /cis/v1/auth/password/authenticate', 'POST /cis/v1/auth/otp/authenticate', 'POST /cis/v1/auth/token/refresh', 'POST /oidc/token']) {
      expect(throttles.get(key)!.rate, key).toBe(270);
    }
    // Route settings may only name routes that exist when the stage deploys.
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    const [stageId] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    const routeIds = ofType('AWS::ApiGatewayV2::Route').filter(([, r]) => stage.Properties.RouteSettings[r.Properties.RouteKey]).map(([id]) => id);
    expect(routeIds.length).toBe(routes.filter((r) => signsPerCall(r) > 0).length);
    const dependsOn = (template.toJSON().Resources[stageId] as { DependsOn?: string[] }).DependsOn ?? [];
    for (const id of routeIds) expect(dependsOn).toContain(id);
  });

  it('gives every function a timeout that fits every SDK attempt, timeout and backoff plus the 503 answer', () => {
    for (const [, fn] of [...routeFunctions(), senderFunction()]) {
      expect(worstCaseCallMs() + ANSWER_MARGIN_MS, fn.Properties.Description).toBeLessThan(fn.Properties.Timeout * 1000);
    }
  });

  it('queues deliveries on an encrypted, TLS-only queue that keeps a message no longer than a link lives, with a dead-letter queue', () => {
    const queues = ofType('AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    const [[dlqId, dlq]] = queues.filter(([, q]) => !q.Properties.RedrivePolicy) as [[string, Resource]];
    const [[queueId, queue]] = queues.filter(([, q]) => q.Properties.RedrivePolicy) as [[string, Resource]];
    expect(queue.Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: LINK_MAX_MINUTES * 60,
      VisibilityTimeout: SENDER_TIMEOUT_SECONDS * 2,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: MAX_DELIVERY_ATTEMPTS },
    });
    expect(dlq.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    // Both refuse anything but TLS.
    for (const id of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('drains the queue with the sender: batches with partial failures, at the configured concurrency, visibility above its timeout', () => {
    const [senderId, sender] = senderFunction();
    const [[queueId]] = ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy) as [[string, Resource]];
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: senderId },
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: SENDER_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: DEFAULT_SENDER_CONCURRENCY },
    });
    expect(sender.Properties.Timeout).toBe(SENDER_TIMEOUT_SECONDS);
    const { template: tuned } = build({ deliveryConcurrency: 7 }, false);
    tuned.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 7 } });
    expect(() => build({ deliveryConcurrency: 1 }, false)).toThrow(/from 2 to 1000/);
  });

  it('lets exactly the sending routes put deliveries on the queue, and only the sender consume it and dead-letter', () => {
    const byRoute = statementsByRoute();
    const [[queueId]] = ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy) as [[string, Resource]];
    const [[dlqId]] = ofType('AWS::SQS::Queue').filter(([, q]) => !q.Properties.RedrivePolicy) as [[string, Resource]];
    const enqueuers = [...byRoute].filter(([, s]) => s.some((st: any) => st.Effect === 'Allow' && actionsOf(st).includes('sqs:SendMessage') && JSON.stringify(st.Resource).includes(queueId))).map(([n]) => n);
    expect(enqueuers.sort()).toEqual(capable('queue').map((r) => r.name).sort());
    expect(enqueuers.sort()).toEqual(['auth-link-send', 'auth-otp-send', 'users-email-verification-send', 'users-phone-verification-send']);
    const consumers = [...byRoute].filter(([, s]) => allows(s, 'sqs:ReceiveMessage')).map(([n]) => n);
    expect(consumers).toEqual([DELIVERY_SENDER.name]);
    const sender = byRoute.get(DELIVERY_SENDER.name)!;
    expect(sender.some((st: any) => actionsOf(st).includes('sqs:SendMessage') && JSON.stringify(st.Resource).includes(dlqId))).toBe(true);
    expect(sender.some((st: any) => actionsOf(st).includes('sqs:SendMessage') && JSON.stringify(st.Resource).includes(queueId))).toBe(false);
  });

  it('alarms on anything in the dead-letter queue and on deliveries waiting over a minute', () => {
    const [[dlqId]] = ofType('AWS::SQS::Queue').filter(([, q]) => !q.Properties.RedrivePolicy) as [[string, Resource]];
    const [[queueId]] = ofType('AWS::SQS::Queue').filter(([, q]) => q.Properties.RedrivePolicy) as [[string, Resource]];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: DELIVERY_AGE_ALARM_SECONDS,
    });
  });

  it('access-logs the API stage as JSON without bodies, query strings or paths', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
    for (const variable of Object.values(format)) expect(variable).not.toMatch(/body|querystring|rawQueryString|\$context\.path|requestOverride/i);
    const logGroup = resources[stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]]!;
    expect(logGroup.Properties.RetentionInDays).toBe(30);
  });

  it('gives every function its own log group with retention', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const logGroup = resources[fn.Properties.LoggingConfig.LogGroup.Ref]!;
      expect(logGroup).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    }
  });

  it('alarms on API 5xx, on throttles of every function, and on KMS failures counted from the logs', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Statistic: 'Sum' });
    const throttled = ofType('AWS::CloudWatch::Alarm')
      .flatMap(([, alarm]) => alarm.Properties.Metrics ?? [])
      .filter((m: any) => m.MetricStat?.Metric.MetricName === 'Throttles')
      .map((m: any) => m.MetricStat.Metric.Dimensions[0].Value.Ref);
    expect(throttled.sort()).toEqual([...routeFunctions(), senderFunction()].map(([id]) => id).sort());

    // Only the signing functions call KMS: each has a filter for KMS errors and one for KMS throttling.
    template.resourceCountIs('AWS::Logs::MetricFilter', 2 * capable('sign').length);
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.msg = "dependency failure") && ($.dependency = "kms") }',
      MetricTransformations: [{ MetricNamespace: 'Twofold/Twofold', MetricName: 'KmsErrors', MetricValue: '1' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Twofold/Twofold', MetricName: 'KmsErrors', Threshold: 1 });
    // The cause of a throttled Sign starts with its error name (test/integration/kms-throttling.test.ts).
    const throttleFilters = ofType('AWS::Logs::MetricFilter').filter(([, f]) => f.Properties.MetricTransformations[0].MetricName === 'KmsThrottles');
    expect(throttleFilters.map(([, f]) => f.Properties.LogGroupName.Ref).sort()).toEqual(
      ofType('AWS::Lambda::Function')
        .filter(([, fn]) => isRouteFunction(fn) && capable('sign').includes(routeOfFunction(fn)))
        .map(([, fn]) => fn.Properties.LoggingConfig.LogGroup.Ref)
        .sort(),
    );
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.msg = "dependency failure") && ($.dependency = "kms") && ($.cause = "ThrottlingException*") }',
      MetricTransformations: [{ MetricNamespace: 'Twofold/Twofold', MetricName: 'KmsThrottles', MetricValue: '1' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'Twofold/Twofold',
      MetricName: 'KmsThrottles',
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmDescription: Match.stringLikeRegexp('throttled'),
    });
  });

  it('generates the TOTP keys in Secrets Manager as version 1 of a keyring, apart from the hash key, and keeps them with the table', () => {
    expect(resources.TotpKeySecret).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: { GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: '1', PasswordLength: 64, ExcludePunctuation: true } },
    });
  });

  it('generates the user-token keys in Secrets Manager as version 1 of a keyring, apart from the other keys, and keeps them (but after a failed first deploy)', () => {
    expect(resources.UserTokenKeySecret).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: { GenerateSecretString: { SecretStringTemplate: '{}', GenerateStringKey: '1', PasswordLength: 64, ExcludePunctuation: true } },
    });
    for (const [, fn] of routeFunctions()) {
      expect(fn.Properties.Environment.Variables.USER_TOKEN_KEY_SECRET_ARN).toEqual({ Ref: 'UserTokenKeySecret' });
      expect(fn.Properties.Environment.Variables.USER_TOKEN_KEY_IDS).toBe('1');
    }
  });

  it('generates the hash key in Secrets Manager and keeps it with the table', () => {
    expect(resources.HashKeySecret).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
    });
  });
});

describe('a signing key rotation', () => {
  const variables = (template: Template) =>
    Object.values(template.toJSON().Resources as Record<string, Resource>)
      .filter(isRouteFunction)
      .map((fn) => fn.Properties.Environment.Variables);
  const publishedKeyIds = (template: Template) => Object.values(template.findResources('Custom::TwofoldSigningPublicKeys')).map((r) => r.Properties.KeyIds);
  const statements = (template: Template) =>
    Object.values(template.toJSON().Resources as Record<string, Resource>)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
  /** The keys each signing function may kms:Sign with; one set for all of them. */
  const signable = (template: Template) => {
    const sets = statements(template)
      .filter((s: any) => actionsOf(s).includes('kms:Sign'))
      .map((s: any) => JSON.stringify(resourcesOf(s)));
    expect(sets.length).toBe(capable('sign').length);
    expect(new Set(sets).size).toBe(1);
    return JSON.parse(sets[0]!) as unknown[];
  };
  const V1 = { 'Fn::GetAtt': ['SigningKey', 'Arn'] };
  const V2 = { 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] };

  /** The four templates of a rotation, as docs/deploy.md runs them. */
  const phases = {
    before: () => build({}, false).template,
    publish: () => build({ publishNextSigningKey: true }, false).template,
    sign: () => build({ signingKeyGeneration: 2, previousKeyArns: [PREVIOUS_KEY] }, false).template,
    retire: () => build({ signingKeyGeneration: 2 }, false).template,
  };
  const templates = {} as Record<keyof typeof phases, Template>;
  beforeAll(() => {
    for (const [phase, make] of Object.entries(phases)) templates[phase as keyof typeof phases] = make();
  }, 240_000);

  it('phase 1 creates and publishes the next key in every function, signs with the current one, and already grants kms:Sign on both', () => {
    const template = templates.publish;
    for (const env of variables(template)) expect(env.KMS_KEY_ID).toEqual(V1);
    expect(publishedKeyIds(template)).toEqual([[V1, V2]]);
    for (const s of statements(template).filter((s: any) => actionsOf(s).includes('kms:GetPublicKey'))) expect(s.Resource).toEqual([V1, V2]);
    expect(signable(template)).toEqual([V1, V2]);
    template.hasResourceProperties('AWS::KMS::Alias', { TargetKeyId: V1 });
    template.hasOutput('NextSigningKeyArn', { Value: V2 });
    // A phase 1 that rolls back deletes the key it created: nothing of it is left to collide or to pay for.
    expect(template.toJSON().Resources.SigningKeyV2).toMatchObject({ DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
  });

  it('phase 2 signs with that same key (same logical id, never replaced), keeps the old one published, and keeps kms:Sign on it for the functions not yet updated', () => {
    const template = templates.sign;
    expect(template.toJSON().Resources.SigningKeyV2.Type).toBe('AWS::KMS::Key');
    for (const env of variables(template)) expect(env.KMS_KEY_ID).toEqual(V2);
    expect(publishedKeyIds(template)).toEqual([[V2, PREVIOUS_KEY]]);
    expect(signable(template)).toEqual([V2, PREVIOUS_KEY]);
  });

  it('phase 3 publishes and signs with the current key only', () => {
    const template = templates.retire;
    for (const env of variables(template)) expect(env.KMS_KEY_ID).toEqual(V2);
    expect(publishedKeyIds(template)).toEqual([[V2]]);
    expect(signable(template)).toEqual([V2]);
    template.resourceCountIs('AWS::KMS::Key', 1);
  });

  it('in every deploy, functions of the old and of the new template may sign with their key, and the new key was granted one deploy before anything signs with it', () => {
    // CloudFormation updates the IAM policies before the functions, then the functions one by one:
    // while a deploy runs, functions of both templates sign, under the new template's grants.
    // PREVIOUS_KEY is generation 1 (SigningKey) once phase 2 names it by ARN.
    const key = (value: unknown) => (JSON.stringify(value) === JSON.stringify(PREVIOUS_KEY) ? JSON.stringify(V1) : JSON.stringify(value));
    const order = ['before', 'publish', 'sign', 'retire'] as const;
    for (let i = 1; i < order.length; i++) {
      const [older, newer] = [templates[order[i - 1]!], templates[order[i]!]];
      const granted = new Set([signable(newer)].flat().map(key));
      const grantedBefore = new Set([signable(older)].flat().map(key));
      for (const template of [older, newer]) {
        const signingKey = key(variables(template)[0]!.KMS_KEY_ID);
        expect(granted.has(signingKey), `${order[i]}: ${signingKey}`).toBe(true);
        expect(grantedBefore.has(signingKey), `${order[i]}: ${signingKey} granted a deploy earlier`).toBe(true);
      }
    }
  });

  it('no phase retains a resource under a fixed name', () => {
    for (const [phase, template] of Object.entries(templates)) expect(retainedFixedNames(template.toJSON().Resources), phase).toEqual([]);
  });
});

describe('the stack configured by context', () => {
  let variant: Template;
  let variantResources: Record<string, Resource>;

  beforeAll(() => {
    ({ template: variant } = build(
      {
        issuer: 'https://auth.example.com/',
        signingKeyGeneration: 2,
        previousKeyArns: [PREVIOUS_KEY],
        smsSenderId: 'Twofold',
        sesConfigurationSet: 'twofold-events',
        allowedOrigins: ['https://shop.example'],
        alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:ops',
      },
      false,
    ));
    variantResources = variant.toJSON().Resources;
  });

  it('uses the issuer override, the previous key and the sender ID in every function', () => {
    for (const fn of Object.values(variantResources).filter(isRouteFunction)) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        ISSUER: 'https://auth.example.com',
        KMS_KEY_ID: { 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] },
        SMS_SENDER_ID: 'Twofold',
        SES_CONFIGURATION_SET: 'twofold-events',
      });
    }
  });

  it('rotates to a new key under a new logical id; the previous key may be read, and signed with only while functions update', () => {
    expect(variantResources.SigningKey).toBeUndefined();
    expect(variantResources.SigningKeyV2).toMatchObject({ Type: 'AWS::KMS::Key', DeletionPolicy: 'RetainExceptOnCreate' });
    variant.hasResourceProperties('AWS::KMS::Alias', { TargetKeyId: { 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] } });
    const statements = Object.values(variantResources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    for (const s of statements.filter((s: any) => actionsOf(s).includes('kms:GetPublicKey'))) {
      expect(s.Resource).toEqual([{ 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] }, PREVIOUS_KEY]);
    }
    for (const s of statements.filter((s: any) => actionsOf(s).includes('kms:Sign'))) {
      expect(s.Resource).toEqual([{ 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] }, PREVIOUS_KEY]);
    }
  });

  it('allows the configuration set in the SES grant, CORS for the allowed origins, and notifies the alarm topic', () => {
    variant.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'ses:SendEmail',
            Resource: Match.arrayWith([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:us-east-1:123456789012:configuration-set/twofold-events']] }]),
          }),
        ]),
      },
    });
    variant.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://shop.example'] }) });
    for (const alarm of Object.values(variantResources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:us-east-1:123456789012:ops']);
    }
  });

  it('refuses props that could never work, before deploying anything', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const make = (id: string, props: Partial<TwofoldStackProps>) => () =>
      new TwofoldStack(app, id, { env: ENV, senderEmail: 'no-reply@twofold.example', ...props });
    expect(make('A', { senderEmail: 'Twofold <no-reply@twofold.example>' })).toThrow(/senderEmail/);
    expect(make('B', { smsSenderId: 'TOO-LONG-SENDER' })).toThrow(/smsSenderId/);
    expect(make('C', { previousKeyArns: ['alias/old'] })).toThrow(/KMS key ARN/);
    expect(make('D', { signingKeyGeneration: 0 })).toThrow(/generation/);
    expect(make('E', { issuer: 'auth.example.com' })).toThrow(/issuer/);
  });

  it('checks every setting by the rules the functions apply, so a bad value fails the synth, not every request', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const make = (id: string, props: Partial<TwofoldStackProps>) => () =>
      new TwofoldStack(app, id, { env: ENV, senderEmail: 'no-reply@twofold.example', ...props });
    expect(make('F', { appName: 'x'.repeat(65) })).toThrow(/APP_NAME/);
    expect(make('G', { totpKeyIds: ['a.b'] })).toThrow(/TOTP_KEY_IDS/);
    expect(make('H', { senderEmail: 'no-reply@' })).toThrow(/senderEmail/);
    expect(make('K', { logLevel: 'silent' as never })).toThrow(/logLevel/);
    expect(make('L', { userTokenKeyIds: ['a.b'] })).toThrow(/USER_TOKEN_KEY_IDS/);
    expect(make('I', { routeThrottles: { 'auth-password': { rateLimit: 301, burstLimit: 301 } } })).toThrow(/throttle.auth-password: 301 requests\/s would call KMS Sign 301 times a second, over the quota of 300/);
    expect(make('M', { routeThrottles: { 'no-such-route': { rateLimit: 5, burstLimit: 5 } } })).toThrow(/throttle overrides name routes that do not exist: no-such-route/);
    expect(make('N', { throttle: { rateLimit: 20_000, burstLimit: 20_000 } })).toThrow(/over API Gateway's account quota of 10000/);
    expect(make('O', { routeThrottles: { 'users-get': { rateLimit: 0, burstLimit: 5 } } })).toThrow(/throttle.users-get must be a positive integer/);
    expect(make('J', { routeThrottles: { 'auth-password': { rateLimit: 900, burstLimit: 900 } }, kmsSignQuota: 1000 })).not.toThrow();
  });
});

describe('throttles from context', () => {
  it('follow a raised KMS quota, take a per-route override and a new default, each in its own route settings', () => {
    const { template: raised } = build(
      {
        kmsSignQuota: 1000,
        throttle: { rateLimit: 500, burstLimit: 800 },
        routeThrottles: { 'auth-otp-send': { rateLimit: 50, burstLimit: 100 }, 'auth-password': { rateLimit: 400, burstLimit: 400 } },
      },
      false,
    );
    const throttles = routeThrottlesOf(raised.toJSON().Resources);
    expect(throttles.get('POST /cis/v1/auth/otp/authenticate')).toEqual({ rate: 900, burst: 900 });
    expect(throttles.get('POST /cis/v1/auth/password/authenticate')).toEqual({ rate: 400, burst: 400 });
    expect(throttles.get('POST /cis/v1/auth/otp/send')).toEqual({ rate: 50, burst: 100 });
    expect(throttles.get('GET /cis/v1/users/{user_id}')).toEqual({ rate: 500, burst: 800 });
  });
});
