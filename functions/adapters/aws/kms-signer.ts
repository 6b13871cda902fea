/**
 * Signer port over an asymmetric KMS key (ECC_NIST_P256 / SIGN_VERIFY): ES256
 * without the private key ever leaving KMS. The JWS signing input is hashed
 * here and KMS signs the digest (MessageType DIGEST, so inputs of any size
 * cost one small request); its DER signature becomes the JOSE `r||s`.
 *
 * Public keys: deployed functions are given them (SIGNING_PUBLIC_KEYS, see
 * functions/published-keys.ts), so signing and verifying never call
 * GetPublicKey. Without them (the benchmark, admin scripts) the current, next
 * and previous keys are fetched once; a failed fetch is retried on the next
 * call rather than cached. The deploy-time custom resource fetches them with
 * `fetchPublishedKey` too.
 */
import { createHash } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { JWK } from 'jose';
import { DependencyError } from '../../errors.js';
import type { Signer } from '../../ports.js';
import { derToJose } from '../../core/der.js';
import { jwkFromSpki, type PublishedJwk } from '../../published-keys.js';
import { dependencyFailure } from './failures.js';

export interface KmsSignerOptions {
  /** The key that signs (id, ARN or alias). */
  keyId: string;
  /** The published keys, the signing key's first (a deployment's SIGNING_PUBLIC_KEYS): no GetPublicKey call at all. */
  publicKeys?: readonly PublishedJwk[];
  /** Without `publicKeys`: keys whose tokens may still be alive after a rotation, published, never used to sign. */
  previousKeyIds?: readonly string[];
  /** Without `publicKeys`: keys about to sign (the first phase of a rotation), published and trusted before any function signs with them. */
  nextKeyIds?: readonly string[];
}

/** The public key of a KMS key as a JWK, checked to be an ES256 signing key. */
export async function fetchPublishedKey(kms: KMSClient, keyId: string): Promise<PublishedJwk> {
  let response;
  try {
    response = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  } catch (error) {
    throw dependencyFailure('kms', error);
  }
  // A wrong key is a deployment mistake, not an outage: a plain error (500, detail in the log).
  if (response.KeySpec !== undefined && response.KeySpec !== 'ECC_NIST_P256') {
    throw new Error(`KMS key ${keyId} has key spec ${response.KeySpec}; ES256 needs ECC_NIST_P256`);
  }
  if (response.KeyUsage !== undefined && response.KeyUsage !== 'SIGN_VERIFY') {
    throw new Error(`KMS key ${keyId} has key usage ${response.KeyUsage}; expected SIGN_VERIFY`);
  }
  if (!response.PublicKey) throw new DependencyError('kms', { cause: new Error('GetPublicKey returned no key') });
  return jwkFromSpki(response.PublicKey);
}

export class KmsSigner implements Signer {
  private keys: Promise<readonly PublishedJwk[]> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly options: KmsSignerOptions,
  ) {
    if (options.publicKeys) {
      if (options.publicKeys.length === 0) throw new Error('the KMS signer needs the public key of its signing key');
      this.keys = Promise.resolve(options.publicKeys);
    }
  }

  async currentKeyId(): Promise<string> {
    const [current] = await this.publishedKeys();
    return current!.kid;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    const digest = createHash('sha256').update(signingInput).digest();
    let signature: Uint8Array | undefined;
    try {
      ({ Signature: signature } = await this.kms.send(
        new SignCommand({
          KeyId: this.options.keyId,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ));
    } catch (error) {
      throw dependencyFailure('kms', error);
    }
    if (!signature) throw new DependencyError('kms', { cause: new Error('Sign returned no signature') });
    return derToJose(signature);
  }

  async publicKeys(): Promise<JWK[]> {
    return (await this.publishedKeys()).map((key) => ({ ...key }));
  }

  /** The current key first, then the next and previous ones: given, or fetched once and retried after a failure. */
  private publishedKeys(): Promise<readonly PublishedJwk[]> {
    if (!this.keys) {
      const others = [...(this.options.nextKeyIds ?? []), ...(this.options.previousKeyIds ?? [])].filter((id) => id !== this.options.keyId);
      const ids = [this.options.keyId, ...new Set(others)];
      this.keys = Promise.all(ids.map((id) => fetchPublishedKey(this.kms, id)));
      this.keys.catch(() => {
        this.keys = undefined;
      });
    }
    return this.keys;
  }
}
