/** A local ES256 key for `npm start` and tests: same Signer port as the KMS adapter. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Signer } from '../../ports.js';

export class LocalSigner implements Signer {
  private readonly privateKey: KeyObject;
  private readonly publicJwk: JWK;
  private kid: Promise<string>;

  constructor(keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' })) {
    this.privateKey = keyPair.privateKey;
    this.publicJwk = keyPair.publicKey.export({ format: 'jwk' }) as JWK;
    this.kid = calculateJwkThumbprint(this.publicJwk, 'sha256');
  }

  currentKeyId(): Promise<string> {
    return this.kid;
  }

  async sign(signingInput: Uint8Array): Promise<Uint8Array> {
    return sign('sha256', signingInput, { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
  }

  async publicKeys(): Promise<JWK[]> {
    return [{ ...this.publicJwk, kid: await this.kid, alg: 'ES256', use: 'sig' }];
  }
}
