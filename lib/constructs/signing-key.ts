import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Alias, CfnAlias, CfnKey, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface SigningKeyProps {
  /**
   * Which key generation signs. Raising it creates a new key under a new
   * logical id (unless phase 1 of the rotation already did); the old key is
   * retained (never deleted by the stack) so it can be passed as a previous
   * key until its tokens have expired.
   * @default 1
   */
  readonly generation?: number;
  /**
   * ARNs of earlier keys: their public keys stay in the JWKS. The functions
   * keep kms:Sign on them too, because during the deploy that moves signing
   * to a new key (rotation phase 2) functions not yet updated still sign with
   * the old one, and IAM policies update before functions do.
   */
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

/** The rotation settings of a deploy (context `signingKeyGeneration`, `previousKeyArn`, `publishNextSigningKey`). */
export interface RotationSettings {
  readonly generation?: number;
  readonly previousKeyArns?: readonly string[];
  readonly publishNextKey?: boolean;
}

/**
 * Which phase of a rotation (docs/deploy.md) the settings describe, what in
 * them would do harm (`problems`: the synth refuses them), and what the
 * operator should know (`notes`). The settings of one phase left in place for
 * another are the usual mistake: `publishNextSigningKey=true` kept in
 * cdk.json through phase 2 would create a third key, and a phase 2 that
 * forgets `signingKeyGeneration` would drop the key phase 1 created.
 */
export function rotationPlan(settings: RotationSettings): { phase: 'steady' | 'publish' | 'sign'; problems: string[]; notes: string[] } {
  const generation = settings.generation ?? 1;
  const previous = settings.previousKeyArns ?? [];
  const problems: string[] = [];
  const notes: string[] = [];
  if (settings.publishNextKey && previous.length > 0) {
    problems.push(
      `publishNextSigningKey=true (rotation phase 1) together with previousKeyArn (phase 2) would create a third key, generation ${generation + 1}, while generation ${generation} only starts to sign: drop publishNextSigningKey (also from cdk.json) for phase 2, and start another rotation only after phase 3`,
    );
  }
  if (previous.length > 0 && generation === 1) {
    problems.push(
      'previousKeyArn is for phase 2 of a rotation, which also raises signingKeyGeneration (to 2 after generation 1): without it this deploy would drop the key phase 1 created, and a later one would sign with a new key that no function trusts yet',
    );
  }
  if (problems.length) return { phase: 'steady', problems, notes };
  if (settings.publishNextKey) {
    notes.push(
      `rotation phase 1: generation ${generation + 1} is created and published, generation ${generation} still signs. Phase 2, at least 5 minutes after this deploy succeeded: -c signingKeyGeneration=${generation + 1} -c previousKeyArn=<output SigningKeyArn of this deploy>, without publishNextSigningKey.`,
    );
    return { phase: 'publish', problems, notes };
  }
  if (previous.length > 0) {
    notes.push(
      `rotation phase 2: generation ${generation} signs; the previous key${previous.length > 1 ? 's stay' : ' stays'} published and signable while functions update. Phase 3, at least 65 minutes after this deploy succeeded: drop previousKeyArn (keep signingKeyGeneration=${generation}); schedule the old key's deletion only once phase 3 has succeeded.`,
    );
    if (previous.length > 1) notes.push(`${previous.length} previous keys: every one keeps kms:Sign for the signing functions until it is dropped`);
    return { phase: 'sign', problems, notes };
  }
  return { phase: 'steady', problems, notes };
}

/**
 * The ES256 service key: an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY)
 * whose private half never leaves KMS, with an alias that follows the current
 * generation. Grants are split: `grantSign` for the token-issuing functions,
 * `grantPublicKeys` for the deploy-time reader of the public keys
 * (lib/constructs/published-keys.ts); no function verifying tokens or
 * publishing the JWKS calls KMS.
 *
 * A rotation (docs/deploy.md) takes three deploys, and in each the functions
 * may sign with every key that a function of that deploy, old or new, is
 * configured with: phase 1 (next key published) the current and the next
 * key, so that the grant on the next key has long propagated when phase 2
 * signs with it; phase 2 (previous key given) the current and the previous
 * key, which functions not yet updated still use; phase 3 the current key
 * only.
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
    this.previousKeyArns = [...new Set(props.previousKeyArns ?? [])];
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
      // Retained so that a rotation (a new generation) leaves the old key able to verify its tokens;
      // deleted (after KMS's pending window) only when the deploy that created it rolls back, so a
      // failed first deploy or rotation phase 1 leaves no key behind. No key has a fixed name.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    (key.node.defaultChild as CfnKey).overrideLogicalId(generation === 1 ? 'SigningKey' : `SigningKeyV${generation}`);
    return key;
  }

  /**
   * The keys a function of this deploy may sign with: the current key, the
   * next one (phase 1: no function signs with it yet, but its grant must have
   * propagated before phase 2 does) and the previous ones (phase 2: functions
   * not yet updated still sign with the old key).
   */
  signingKeyArns(): string[] {
    // The same keys as those published: phase 1 adds the next key, phase 2 the previous ones.
    return this.publishedKeyArns();
  }

  /** kms:Sign on the keys of `signingKeyArns`, and only ES256 over a digest. */
  grantSign(grantee: IGrantable): Grant {
    const keys = this.signingKeyArns();
    return Grant.addToPrincipal({
      grantee,
      actions: ['kms:Sign'],
      resourceArns: keys,
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
