/**
 * A fake KMS key for tests and the benchmark: ECDSA P-256 over a digest it is
 * given, as KMS does for MessageType DIGEST. node:crypto always hashes, so the
 * signature is computed here: (x1, _) = k*G via ECDH, r = x1 mod n,
 * s = k^-1 (e + r*d) mod n.
 */
import { createECDH, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const big = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const mod = (a: bigint) => ((a % N) + N) % N;
function inverse(a: bigint): bigint {
  let [result, base, exponent] = [1n, mod(a), N - 2n];
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % N;
    base = (base * base) % N;
    exponent >>= 1n;
  }
  return result;
}
function derInteger(value: bigint): Buffer {
  const hex = value.toString(16);
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
}

export class FakeKmsKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  private readonly d: bigint;

  constructor(readonly keyId: string) {
    ({ privateKey: this.privateKey, publicKey: this.publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    this.d = big(Buffer.from(this.privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  }

  get spki(): Uint8Array {
    return new Uint8Array(this.publicKey.export({ format: 'der', type: 'spki' }));
  }

  get jwk(): JWK {
    const { kty, crv, x, y } = this.publicKey.export({ format: 'jwk' });
    return { kty: kty!, crv: crv!, x: x!, y: y! };
  }

  signDigest(digest: Uint8Array): Uint8Array {
    for (;;) {
      const k = mod(big(randomBytes(40)));
      if (k === 0n) continue;
      const ecdh = createECDH('prime256v1');
      ecdh.setPrivateKey(Buffer.from(k.toString(16).padStart(64, '0'), 'hex'));
      const r = mod(big(ecdh.getPublicKey().subarray(1, 33)));
      const s = mod(inverse(k) * (big(digest) + r * this.d));
      if (r === 0n || s === 0n) continue;
      const body = Buffer.concat([derInteger(r), derInteger(s)]);
      return new Uint8Array(Buffer.concat([Buffer.of(0x30, body.length), body]));
    }
  }
}

