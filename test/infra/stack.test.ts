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
import { parseConfig } from '../../functions/config.js';
import { routes } from '../../functions/routes.js';
import { ESM_REQUIRE_BANNER } from '../../lib/constructs/endpoint-function.js';
import { TwofoldStack, type TwofoldStackProps } from '../../lib/twofold-stack.js';

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
  for (const [, fn] of ofType('AWS::Lambda::Function')) out.set(routeOfFunction(fn).name, byRole.get(fn.Properties.Role['Fn::GetAtt'][0]) ?? []);
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
  it('has one function per route of the route table, on nodejs22.x and arm64', () => {
    template.resourceCountIs('AWS::Lambda::Function', routes.length);
    const described = ofType('AWS::Lambda::Function').map(([, fn]) => routeOfFunction(fn).name).sort();
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
      expect(bundle).not.toContain('/local/outbox');
    }
  });

  it('bundles the SES client only into email routes, the SNS client only into SMS routes, EventBridge only into audit routes', () => {
    const sizes: Record<string, number> = {};
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const route = routeOfFunction(fn);
      const bundle = readFileSync(join(app.outdir, String(fn.Metadata!['aws:asset:path']), 'index.mjs'), 'utf8');
      sizes[route.name] = bundle.length;
      expect(bundle.includes('SimpleEmailService'), `${route.name} SES`).toBe(route.capabilities?.includes('email') ?? false);
      expect(bundle.includes('AmazonSimpleNotificationService'), `${route.name} SNS`).toBe(route.capabilities?.includes('sms') ?? false);
      expect(bundle.includes('AWSEvents'), `${route.name} EventBridge`).toBe(route.capabilities?.includes('audit') ?? false);
    }
    // Guard against a dependency slipping into every bundle (`npm run bundle-sizes` reports them all).
    expect(sizes['oidc-jwks']).toBeLessThan(900_000);
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

  it('keeps sessions in one on-demand table with TTL and point-in-time recovery, retained on deletion under a stable id', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    const table = resources.SessionsTable!;
    expect(table.Type).toBe('AWS::DynamoDB::Table');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('signs with an ECC_NIST_P256 SIGN_VERIFY KMS key that has an alias and is retained', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    expect(resources.SigningKey).toMatchObject({
      Type: 'AWS::KMS::Key',
      DeletionPolicy: 'Retain',
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

  it('lets every function read the public key, the hash key secret and exactly the store operations on the table', () => {
    for (const [name, statements] of statementsByRoute()) {
      expect(statements, name).toContainEqual({ Effect: 'Allow', Action: 'kms:GetPublicKey', Resource: { 'Fn::GetAtt': ['SigningKey', 'Arn'] } });
      expect(statements, name).toContainEqual({
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Resource: { Ref: 'HashKeySecret' },
      });
      expect(statements, name).toContainEqual({
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        Resource: [{ 'Fn::GetAtt': ['SessionsTable', 'Arn'] }],
      });
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

  it('lets only email routes send from the sender identity, and only SMS routes publish SMS', () => {
    const byRoute = statementsByRoute();
    const senders = [...byRoute].filter(([, s]) => allows(s, 'ses:SendEmail')).map(([name]) => name);
    expect(senders.sort()).toEqual(capable('email').map((r) => r.name).sort());
    for (const name of senders) {
      const statement = byRoute.get(name)!.find((s) => actionsOf(s).includes('ses:SendEmail'));
      expect(statement.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'no-reply@twofold.example' } });
      expect(JSON.stringify(statement.Resource)).toContain(':ses:us-east-1:123456789012:identity/no-reply@twofold.example');
    }
    const publishers = [...byRoute].filter(([, s]) => allows(s, 'sns:Publish')).map(([name]) => name);
    expect(publishers.sort()).toEqual(capable('sms').map((r) => r.name).sort());
  });

  it('hands every function a configuration that functions/config.ts accepts, with the API URL as issuer', () => {
    for (const [, fn] of ofType('AWS::Lambda::Function')) {
      const variables = fn.Properties.Environment.Variables;
      expect(variables.ISSUER).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ApiHttpApi/), 'ApiEndpoint'] });
      expect(variables.KMS_KEY_ID).toEqual({ 'Fn::GetAtt': ['SigningKey', 'Arn'] });
      expect(variables.TABLE_NAME).toEqual({ Ref: 'SessionsTable' });
      expect(variables.HASH_KEY_SECRET_ARN).toEqual({ Ref: 'HashKeySecret' });
      // Tokens resolve at deploy time: stand in plausible values and parse.
      const deployed = Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [key, typeof value === 'string' ? value : key === 'ISSUER' ? 'https://abc.execute-api.us-east-1.amazonaws.com' : 'resolved-at-deploy']),
      ) as Record<string, string>;
      expect(() => parseConfig(deployed)).not.toThrow();
    }
  });

  it('throttles the API stage and access-logs it as JSON without bodies, query strings or paths', () => {
    const [[, stage]] = ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true, DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 } });
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
    expect(throttled.sort()).toEqual(ofType('AWS::Lambda::Function').map(([id]) => id).sort());

    template.resourceCountIs('AWS::Logs::MetricFilter', routes.length);
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ ($.msg = "dependency failure") && ($.dependency = "kms") }',
      MetricTransformations: [{ MetricNamespace: 'Twofold/Twofold', MetricName: 'KmsErrors', MetricValue: '1' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Twofold/Twofold', MetricName: 'KmsErrors', Threshold: 1 });
  });

  it('generates the hash key in Secrets Manager and keeps it with the table', () => {
    expect(resources.HashKeySecret).toMatchObject({
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      Properties: { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } },
    });
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
    for (const fn of Object.values(variantResources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        ISSUER: 'https://auth.example.com',
        KMS_PREVIOUS_KEY_IDS: PREVIOUS_KEY,
        KMS_KEY_ID: { 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] },
        SMS_SENDER_ID: 'Twofold',
        SES_CONFIGURATION_SET: 'twofold-events',
      });
    }
  });

  it('rotates to a new key under a new logical id; the previous key may be read but never used to sign', () => {
    expect(variantResources.SigningKey).toBeUndefined();
    expect(variantResources.SigningKeyV2).toMatchObject({ Type: 'AWS::KMS::Key', DeletionPolicy: 'Retain' });
    variant.hasResourceProperties('AWS::KMS::Alias', { TargetKeyId: { 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] } });
    const statements = Object.values(variantResources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    for (const s of statements.filter((s: any) => actionsOf(s).includes('kms:GetPublicKey'))) {
      expect(s.Resource).toEqual([{ 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] }, PREVIOUS_KEY]);
    }
    for (const s of statements.filter((s: any) => actionsOf(s).includes('kms:Sign'))) {
      expect(s.Resource).toEqual({ 'Fn::GetAtt': ['SigningKeyV2', 'Arn'] });
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
});
