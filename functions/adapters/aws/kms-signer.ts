/**
 * Signer port over an asymmetric KMS key (ECC_NIST_P256 / SIGN_VERIFY): ES256
 * without the private key ever leaving KMS. The JWS signing input is hashed
 * here and KMS signs the digest (MessageType DIGEST, so inputs of any size
 * cost one small request); its DER signature becomes the JOSE `r||s`.
 *
 * Public keys (current, next and previous) are fetched once per cold start, so
 * verifying client tokens never calls KMS. A failed fetch is retried on the
 * next call rather than cached.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { DependencyError } from '../../errors.js';
import type { Signer } from '../../ports.js';
import { derToJose } from '../../core/der.js';
import { dependencyFailure } from './failures.js';

export interface KmsSignerOptions {
  /** The key that signs (id, ARN or alias). */
  keyId: string;
  /** Keys whose tokens may still be alive after a rotation: published, never used to sign. */
  previousKeyIds?: readonly string[];
  /**
   * Keys about to sign (the first phase of a rotation): published and trusted
   * everywhere before any function signs with them, so no verifier ever meets
   * an unknown `kid`.
   */
  nextKeyIds?: readonly string[];
}

interface PublishedKey {
  keyId: string;
  jwk: JWK;
}

export class KmsSigner implements Signer {
  private keys: Promise<PublishedKey[]> | undefined;

  constructor(
    private readonly kms: KMSClient,
    private readonly options: KmsSignerOptions,
  ) {}

  async currentKeyId(): Promise<string> {
    const [current] = await this.publishedKeys();
    return current!.jwk.kid!;
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
    return (await this.publishedKeys()).map((key) => ({ ...key.jwk }));
  }

  /** The current key first, then the next and previous ones; fetched once, retried after a failure. */
  private publishedKeys(): Promise<PublishedKey[]> {
    if (!this.keys) {
      const others = [...(this.options.nextKeyIds ?? []), ...(this.options.previousKeyIds ?? [])].filter((id) => id !== this.options.keyId);
      const ids = [this.options.keyId, ...new Set(others)];
      this.keys = Promise.all(ids.map((id) => this.fetchPublicKey(id)));
      this.keys.catch(() => {
        this.keys = undefined;
      });
    }
    return this.keys;
  }

  private async fetchPublicKey(keyId: string): Promise<PublishedKey> {
    let response;
    try {
      response = await this.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
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
    const exported = createPublicKey({ key: Buffer.from(response.PublicKey), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const jwk: JWK = { kty: exported.kty!, crv: exported.crv!, x: exported.x!, y: exported.y! };
    return { keyId, jwk: { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg: 'ES256', use: 'sig' } };
  }
}
