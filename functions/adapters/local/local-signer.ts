/** A local ES256 key for `npm start` and tests: same Signer port as the KMS adapter. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Signer } from '../../ports.js';

export class LocalSigner implements Signer {
  private readonly privateKey: KeyObject;
  private readonly publicJwk: JWK;
  private kid: Promise<string>;
  private readonly others: JWK[];

  /**
   * `keyPair` signs; `alsoPublished` are public keys listed and trusted but
   * never used to sign (a rotation's next or previous key), as the keys after
   * the first in a deployment's SIGNING_PUBLIC_KEYS are for the KMS signer.
   */
  constructor(keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' }), alsoPublished: readonly KeyObject[] = []) {
    this.privateKey = keyPair.privateKey;
    this.publicJwk = keyPair.publicKey.export({ format: 'jwk' }) as JWK;
    this.kid = calculateJwkThumbprint(this.publicJwk, 'sha256');
    this.others = alsoPublished.map((key) => key.export({ format: 'jwk' }) as JWK);
  }

  currentKeyId(): Promise<string> {
    return this.kid;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    return sign('sha256', signingInput, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  async publicKeys(): Promise<JWK[]> {
    const others = await Promise.all(this.others.map(async (jwk) => ({ ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg: 'ES256', use: 'sig' })));
    const current = { ...this.publicJwk, kid: await this.kid, alg: 'ES256', use: 'sig' };
    return [current, ...others.filter((jwk) => jwk.kid !== current.kid)];
  }
}
