import { join } from 'node:path';
import { CustomResource, Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  PUBLIC_KEYS_FORMAT_VERSION,
  RESOURCE_SERVICE_TIMEOUT_SECONDS,
  RESOURCE_TIMEOUT_SECONDS,
} from '../../functions/adapters/aws/public-keys-resource-limits.js';
import { MAX_PUBLISHED_KEYS } from '../../functions/published-keys.js';
import { nodejsBundling } from './endpoint-function.js';
import type { SigningKey } from './signing-key.js';

/** How the deploy-time function describes itself (never a route's "Twofold <METHOD> <path>"). */
export const PUBLISHED_KEYS_DESCRIPTION = 'Twofold deploy time: reads the signing public keys from KMS for SIGNING_PUBLIC_KEYS';

export interface PublishedKeysProps {
  readonly signingKey: SigningKey;
  /** The repository root: holds package-lock.json and functions/. */
  readonly projectRoot: string;
  readonly logRetention: RetentionDays;
}

/**
 * The public keys of the signing key and of every other key a rotation
 * publishes, read from KMS once per deploy by a custom resource
 * (functions/adapters/aws/public-keys-resource.ts) and handed to every
 * function as SIGNING_PUBLIC_KEYS. Changing the keys (a rotation phase) or the
 * version of the answer changes the resource's properties, so the same deploy
 * reads the keys again and updates every function's environment with them.
 * Only this deploy-time function may call kms:GetPublicKey.
 *
 * The function retries what a key or grant created by the same deploy answers
 * in its first seconds, for a couple of minutes, within a timeout that leaves
 * it time to answer CloudFormation; CloudFormation itself gives up after
 * RESOURCE_SERVICE_TIMEOUT_SECONDS, not an hour, should it never answer.
 */
export class PublishedKeys extends Construct {
  /** The JWKs as JSON, the signing key first: resolved at deploy time. */
  readonly keys: string;
  readonly fn: NodejsFunction;

  constructor(scope: Construct, id: string, props: PublishedKeysProps) {
    super(scope, id);
    const keyArns = props.signingKey.publishedKeyArns();
    if (keyArns.length > MAX_PUBLISHED_KEYS) {
      throw new Error(`${keyArns.length} signing keys to publish; at most ${MAX_PUBLISHED_KEYS} fit the functions' environment (drop previous keys whose tokens have expired)`);
    }
    const logGroup = new LogGroup(this, 'Logs', { retention: props.logRetention });
    const role = new Role(this, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: PUBLISHED_KEYS_DESCRIPTION });
    logGroup.grantWrite(role);
    props.signingKey.grantPublicKeys(role);

    this.fn = new NodejsFunction(this, 'Function', {
      entry: join(props.projectRoot, 'functions', 'adapters', 'aws', 'public-keys-resource.ts'),
      handler: 'handler',
      description: PUBLISHED_KEYS_DESCRIPTION,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(RESOURCE_TIMEOUT_SECONDS),
      role,
      logGroup,
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      bundling: nodejsBundling(props.projectRoot),
    });
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'Pinned to nodejs22.x like every function of the stack (esbuild target node22); a newer runtime is a deliberate upgrade, not an automatic one.',
    });

    const resource = new CustomResource(this, 'Resource', {
      serviceToken: this.fn.functionArn,
      resourceType: 'Custom::TwofoldSigningPublicKeys',
      serviceTimeout: Duration.seconds(RESOURCE_SERVICE_TIMEOUT_SECONDS),
      properties: { KeyIds: keyArns, FormatVersion: PUBLIC_KEYS_FORMAT_VERSION },
    });
    this.keys = resource.getAttString('Keys');
  }
}
