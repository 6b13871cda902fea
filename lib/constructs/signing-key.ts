import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Alias, CfnAlias, CfnKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface SigningKeyProps {
  /**
   * Which key generation signs. Raising it creates a new key under a new
   * logical id; the old key is retained (never deleted by the stack) so it can
   * be passed as a previous key until its tokens have expired.
   * @default 1
   */
  readonly generation?: number;
  /** ARNs of earlier keys: their public keys stay in the JWKS; they never sign. */
  readonly previousKeyArns?: readonly string[];
  /**
   * The first phase of a rotation: create generation + 1 now and publish it
   * (JWKS and every verifier) without signing with it, so that the later
   * deploy that signs with it never meets a function that does not know it.
   * @default false
   */
  readonly publishNextKey?: boolean;
  /** @default `alias/<stack name>-signing` */
  readonly aliasName?: string;
}

/**
 * The ES256 service key: an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY)
 * whose private half never leaves KMS, with an alias that follows the current
 * generation. Grants are split: `grantSign` for the token-issuing functions,
 * `grantPublicKeys` for the deploy-time reader of the public keys
 * (lib/constructs/published-keys.ts); no function verifying tokens or
 * publishing the JWKS calls KMS.
 */
export class SigningKey extends Construct {
  readonly key: Key;
  readonly alias: Alias;
  readonly generation: number;
  readonly previousKeyArns: readonly string[];
  /** The next generation's key, while a rotation publishes it. */
  readonly nextKey?: Key;

  constructor(scope: Construct, id: string, props: SigningKeyProps = {}) {
    super(scope, id);
    this.generation = props.generation ?? 1;
    if (!Number.isInteger(this.generation) || this.generation < 1) throw new Error('signing key generation must be a positive integer');
    this.previousKeyArns = [...(props.previousKeyArns ?? [])];
    for (const arn of this.previousKeyArns) {
      if (!/^arn:aws[\w-]*:kms:[\w-]+:\d{12}:key\/[\w-]+$/.test(arn)) throw new Error(`previous signing key must be a KMS key ARN, got ${arn}`);
    }

    this.key = this.createKey(this.generation);

    if (props.publishNextKey) this.nextKey = this.createKey(this.generation + 1);

    this.alias = new Alias(this, 'Alias', {
      aliasName: props.aliasName ?? `alias/${Stack.of(this).stackName}-signing`,
      targetKey: this.key,
    });
    (this.alias.node.defaultChild as CfnAlias).overrideLogicalId('SigningKeyAlias');
  }

  /** Generation n under a logical id of its own, the same whether it is created as the next key or as the current one. */
  private createKey(generation: number): Key {
    const key = new Key(this, `KeyV${generation}`, {
      description: `Twofold ES256 token signing key, generation ${generation}`,
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // Retained so that a rotation (a new generation) leaves the old key able to verify its tokens.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (key.node.defaultChild as CfnKey).overrideLogicalId(generation === 1 ? 'SigningKey' : `SigningKeyV${generation}`);
    return key;
  }

  /** kms:Sign on the current key only, and only ES256 over a digest. */
  grantSign(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['kms:Sign'],
      resourceArns: [this.key.keyArn],
      conditions: { StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' } },
    });
  }

  /** The keys whose public halves are published and trusted: the current one first, then the next and the previous ones. */
  publishedKeyArns(): string[] {
    return [this.key.keyArn, ...(this.nextKey ? [this.nextKey.keyArn] : []), ...this.previousKeyArns];
  }

  /** kms:GetPublicKey on the published keys (read once per deploy into SIGNING_PUBLIC_KEYS). */
  grantPublicKeys(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['kms:GetPublicKey'], resourceArns: this.publishedKeyArns() });
  }
}
