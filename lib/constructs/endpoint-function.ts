import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { FUNCTION_TIMEOUT_SECONDS } from '../../functions/deadline.js';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { needsOf, type Capability, type FunctionNeeds } from '../../functions/access.js';
import type { RouteDefinition } from '../../functions/routes.js';

/** ESM bundles still meet CommonJS dependencies that call `require`: give them one. */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'module';const require = createRequire(import.meta.url);";

/** Memory of every function unless its route says otherwise (scrypt at N=2^17 needs 128 MiB; CPU grows with memory). */
export const DEFAULT_MEMORY_MB = 1024;

/** The esbuild settings every function is bundled with (the stack's, and `npm run bench`'s). */
export const BUNDLE_SETTINGS = {
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
} as const;

/**
 * Modules every function bundle swaps for a lighter one of ours (esbuild
 * aliases; test/infra/bundles.test.ts checks that each stand-in exports what
 * the SDK imports from it, and that bundles built with them import and answer):
 *
 * - `@aws-sdk/credential-provider-node`: Lambda puts the role's credentials in
 *   the environment, so the SDK's default provider chain (SSO, INI files, web
 *   identity, IMDS and the STS and SSO clients they load) becomes an
 *   environment-only provider: about 135 KB less per bundle.
 * - `@smithy/core/event-streams`: loaded by a dynamic import (which esbuild
 *   cannot tree-shake) only for operations with event streams, which Twofold
 *   never calls: about 19 KB less per bundle.
 * - `@aws-sdk/middleware-endpoint-discovery`: DynamoDB endpoint discovery,
 *   whose middleware no command we send adds: about 8 KB less per DynamoDB
 *   bundle.
 */
export function bundleAliases(projectRoot: string): Record<string, string> {
  const aws = join(projectRoot, 'functions', 'adapters', 'aws');
  return {
    '@aws-sdk/credential-provider-node': join(aws, 'env-credentials.ts'),
    '@smithy/core/event-streams': join(aws, 'no-event-streams.ts'),
    '@aws-sdk/middleware-endpoint-discovery': join(aws, 'no-endpoint-discovery.ts'),
  };
}

/** The stack settings that change what a function's bundle holds. */
export interface BundleSettings {
  /** The stack sends audit events to EventBridge (`-c auditEvents=true`). @default false */
  readonly auditEvents?: boolean;
}

/**
 * The same settings as plain esbuild options (what NodejsFunction passes to
 * esbuild), so the benchmark measures exactly what the stack deploys (by
 * default: the default stack's settings). Without a route: the settings of a
 * bundle that is no route's (the benchmark floors, which keep the SDK's
 * defaults).
 */
export function esbuildOptionsFor(route: FunctionNeeds | undefined, projectRoot = process.cwd(), settings: BundleSettings = {}) {
  return {
    ...(route && { alias: bundleAliases(projectRoot) }),
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: BUNDLE_SETTINGS.target,
    minify: BUNDLE_SETTINGS.minify,
    mainFields: [...BUNDLE_SETTINGS.mainFields],
    banner: { js: BUNDLE_SETTINGS.banner },
    define: route ? bundleDefines(route, settings) : {},
  };
}

/**
 * Constants defined per route at bundle time (see
 * functions/adapters/aws/wiring.ts): esbuild drops the SES / SNS client from
 * functions that never send, the KMS client from functions that never sign,
 * the Secrets Manager client from functions that read no secret, and the
 * EventBridge client unless the function emits audit events in a stack that
 * sends them to a bus.
 */
export function bundleDefines(route: FunctionNeeds, settings: BundleSettings = {}): Record<string, string> {
  const needs = needsOf(route);
  const has = (capability: Capability) => needs.capabilities.has(capability);
  const define = (value: boolean) => JSON.stringify(String(value));
  return {
    'process.env.TWOFOLD_ENQUEUES': define(has('queue')),
    'process.env.TWOFOLD_SENDS_EMAIL': define(has('email')),
    'process.env.TWOFOLD_SENDS_SMS': define(has('sms')),
    'process.env.TWOFOLD_SIGNS': define(has('sign')),
    'process.env.TWOFOLD_READS_SECRETS': define(has('hash-key') || has('totp-key') || has('user-token-key')),
    'process.env.TWOFOLD_AUDITS': define(has('audit') && settings.auditEvents === true),
  };
}

/**
 * NodejsFunction bundling with BUNDLE_SETTINGS: local esbuild (never Docker),
 * the SDK clients we tested against bundled instead of the runtime's copy, and
 * the bundle aliases. Every function of the stack is bundled with it.
 */
export function nodejsBundling(projectRoot: string, define: Record<string, string> = {}): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.ESM,
    target: BUNDLE_SETTINGS.target,
    minify: BUNDLE_SETTINGS.minify,
    sourceMap: false,
    mainFields: [...BUNDLE_SETTINGS.mainFields],
    banner: BUNDLE_SETTINGS.banner,
    bundleAwsSDK: true,
    tsconfig: join(projectRoot, 'tsconfig.json'),
    metafile: false,
    define,
    esbuildArgs: Object.fromEntries(Object.entries(bundleAliases(projectRoot)).map(([from, to]) => [`--alias:${from}`, to])),
  };
}

export interface EndpointFunctionProps {
  readonly route: RouteDefinition;
  /** The repository root: holds package-lock.json and functions/handlers/. */
  readonly projectRoot: string;
  readonly environment: Record<string, string>;
  readonly logRetention: RetentionDays;
  /** @default 1024 (scrypt at N=2^17 needs 128 MiB, and Lambda CPU grows with memory) */
  readonly memorySize?: number;
  /** What the stack's settings put in the bundle (audit events on EventBridge). */
  readonly bundleSettings?: BundleSettings;
  /** @default FUNCTION_TIMEOUT_SECONDS (under API Gateway's 30 s integration limit; every SDK call must fit in it, see functions/adapters/aws/sdk-options.ts) */
  readonly timeout?: Duration;
}

/**
 * The Lambda function of one route: functions/handlers/<name>.ts bundled by
 * the local esbuild (never Docker) as minified ESM for Node 22 on arm64, with
 * its own role and its own log group (so retention is set without a custom
 * resource, and the role can write to that group only).
 */
export class EndpointFunction extends Construct {
  readonly fn: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;
  readonly route: RouteDefinition;
  /** The constants its bundle is built with (`bundleDefines`). */
  readonly defines: Record<string, string>;

  constructor(scope: Construct, id: string, props: EndpointFunctionProps) {
    super(scope, id);
    this.route = props.route;
    this.defines = bundleDefines(props.route, props.bundleSettings);
    const entry = join(props.projectRoot, 'functions', 'handlers', `${props.route.name}.ts`);
    if (!existsSync(entry)) throw new Error(`route ${props.route.name} has no handler module at ${entry}`);

    this.logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Twofold ${props.route.method} ${props.route.path}`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: `Twofold ${props.route.method} ${props.route.path}`,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
      role: this.role,
      logGroup: this.logGroup,
      environment: props.environment,
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      bundling: nodejsBundling(props.projectRoot, this.defines),
    });
  }
}
