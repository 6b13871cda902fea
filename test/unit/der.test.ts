/**
 * KMS hands back DER ECDSA signatures; JWS needs the 64-byte r||s. These tests
 * sign with real P-256 keys (node:crypto, `dsaEncoding: 'der'`, the encoding
 * KMS uses), convert, and have jose verify the resulting JWS.
 */
import { generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { DerSignatureError, derToJose } from '../../functions/core/der.js';

const KEYS = Array.from({ length: 4 }, () => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
const HEADER = Buffer.from(JSON.stringify({ alg: 'ES256' })).toString('base64url');
/** Order of the P-256 group: r and s are in [1, n-1]. */
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The lengths of the two DER INTEGER contents (sign byte included). */
function derIntegerLengths(der: Uint8Array): [number, number] {
  // 0x30 len 0x02 rlen r... 0x02 slen s...; P-256 signatures never need the long length form.
  const rLength = der[3]!;
  return [rLength, der[4 + rLength + 1]!];
}

function jwsFor(payload: Uint8Array, privateKey: KeyObject): { input: string; der: Buffer } {
  const input = `${HEADER}.${Buffer.from(payload).toString('base64url')}`;
  return { input, der: sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'der' }) };
}

async function joseAccepts(input: string, signature: Uint8Array, publicKey: KeyObject): Promise<boolean> {
  try {
    await compactVerify(`${input}.${Buffer.from(signature).toString('base64url')}`, publicKey, { algorithms: ['ES256'] });
    return true;
  } catch {
    return false;
  }
}

/** Signs fresh random payloads until `wanted` holds for the DER integer lengths. */
function findSignature(wanted: (rLength: number, sLength: number) => boolean) {
  const { privateKey, publicKey } = KEYS[0]!;
  for (let i = 0; i < 100_000; i++) {
    const { input, der } = jwsFor(randomBytes(16), privateKey);
    const [r, s] = derIntegerLengths(der);
    if (wanted(r, s)) return { input, der, publicKey, r, s };
  }
  throw new Error('no such signature found');
}

/** Minimal DER encoding of a positive integer, as a test oracle. */
function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.of(0), bytes]);
  return Buffer.concat([Buffer.of(0x02, bytes.length), bytes]);
}

function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([body.length < 0x80 ? Buffer.of(0x30, body.length) : Buffer.of(0x30, 0x81, body.length), body]);
}

const fixed = (value: bigint) => Buffer.from(value.toString(16).padStart(64, '0'), 'hex');

describe('DER to JOSE conversion of ES256 signatures', () => {
  it('turns 10,000 real P-256 signatures into JWS signatures that jose verifies', async () => {
    const seen = { paddedR: 0, paddedS: 0, shortR: 0, shortS: 0 };
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: KEYS.length - 1 }), fc.uint8Array({ maxLength: 96 }), async (k, payload) => {
        const { privateKey, publicKey } = KEYS[k]!;
        const { input, der } = jwsFor(payload, privateKey);
        const [r, s] = derIntegerLengths(der);
        if (r === 33) seen.paddedR++;
        if (s === 33) seen.paddedS++;
        if (r < 32) seen.shortR++;
        if (s < 32) seen.shortS++;

        const signature = derToJose(der);
        expect(signature).toHaveLength(64);
        expect(await joseAccepts(input, signature, publicKey)).toBe(true);
      }),
      { numRuns: 10_000 },
    );
    // About half the integers carry a 0x00 sign byte and 1 in 256 is shorter than
    // 32 bytes: 10,000 signatures hit both cases many times over.
    expect(seen.paddedR).toBeGreaterThan(1000);
    expect(seen.paddedS).toBeGreaterThan(1000);
    expect(seen.shortR + seen.shortS).toBeGreaterThan(0);
  }, 60_000);

  it('left-pads an r shorter than 32 bytes and the signature still verifies', async () => {
    const found = findSignature((r) => r < 32);
    const signature = derToJose(found.der);
    expect(signature[0]).toBe(0);
    expect(await joseAccepts(found.input, signature, found.publicKey)).toBe(true);
    expect(verify('sha256', Buffer.from(found.input), { key: found.publicKey, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
  });

  it('left-pads an s shorter than 32 bytes and the signature still verifies', async () => {
    const found = findSignature((_r, s) => s < 32);
    const signature = derToJose(found.der);
    expect(signature[32]).toBe(0);
    expect(await joseAccepts(found.input, signature, found.publicKey)).toBe(true);
  });

  it('drops the 0x00 sign byte of zero-padded integers', async () => {
    const found = findSignature((r, s) => r === 33 && s === 33);
    const signature = derToJose(found.der);
    // DER: 30 len 02 21 00 <32 bytes of r> 02 21 00 <32 bytes of s>
    expect(Buffer.from(signature.subarray(0, 32))).toEqual(found.der.subarray(5, 37));
    expect(Buffer.from(signature.subarray(32))).toEqual(found.der.subarray(40, 72));
    expect(await joseAccepts(found.input, signature, found.publicKey)).toBe(true);
  });

  it('converts every r and s in [1, n-1], down to one-byte integers, to their fixed-width form', () => {
    const scalar = fc.oneof(
      fc.bigInt({ min: 1n, max: 255n }),
      fc.bigInt({ min: 1n, max: 2n ** 200n }),
      fc.bigInt({ min: 2n ** 255n, max: N - 1n }),
      fc.bigInt({ min: 1n, max: N - 1n }),
    );
    fc.assert(
      fc.property(scalar, scalar, (r, s) => {
        expect(Buffer.from(derToJose(derSignature(r, s)))).toEqual(Buffer.concat([fixed(r), fixed(s)]));
      }),
      { numRuns: 2_000 },
    );
    expect(Buffer.from(derToJose(derSignature(1n, 1n)))).toEqual(Buffer.concat([fixed(1n), fixed(1n)]));
  });

  it('rejects malformed DER instead of producing a wrong signature', () => {
    const good = derSignature(0x1234n, 0x80n);
    const cases: Record<string, Buffer> = {
      empty: Buffer.alloc(0),
      'not a sequence': Buffer.concat([Buffer.of(0x31), good.subarray(1)]),
      truncated: good.subarray(0, good.length - 1),
      'trailing bytes': Buffer.concat([good, Buffer.of(0)]),
      'sequence length mismatch': Buffer.concat([Buffer.of(0x30, good[1]! + 1), good.subarray(2)]),
      'negative integer': Buffer.of(0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01),
      'non-minimal integer': Buffer.of(0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01),
      'zero integer': Buffer.of(0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01),
      'integer wider than the curve': Buffer.concat([Buffer.of(0x30, 0x26, 0x02, 0x21), Buffer.alloc(33, 0x11), Buffer.of(0x02, 0x01, 0x01)]),
      'missing s': Buffer.concat([Buffer.of(0x30, 0x03), derInteger(5n)]),
    };
    for (const [name, der] of Object.entries(cases)) {
      expect(() => derToJose(der), name).toThrow(DerSignatureError);
    }
  });
});
