/**
 * KMS returns ECDSA signatures as DER `SEQUENCE { INTEGER r, INTEGER s }`;
 * JWS (RFC 7518 section 3.4) wants the fixed-width `r || s`, each integer
 * big-endian and left-padded to the curve size (32 bytes for P-256).
 *
 * DER integers are minimal and signed: a leading 0x00 appears when the high bit
 * is set, and a value with leading zero bytes is shorter than 32 bytes. Both
 * are normal (about half and 1/128 of all signatures), so both are handled.
 */

const SEQUENCE = 0x30;
const INTEGER = 0x02;

export class DerSignatureError extends Error {
  constructor(reason: string) {
    super(`malformed DER ECDSA signature: ${reason}`);
    this.name = 'DerSignatureError';
  }
}

/** Converts a DER ECDSA signature to the JOSE form: `size` bytes of r, then `size` of s. */
export function derToJose(der: Uint8Array, size = 32): Uint8Array {
  let offset = 0;
  const byte = (): number => {
    if (offset >= der.length) throw new DerSignatureError('truncated');
    return der[offset++]!;
  };
  // Lengths here are below 128 except a sequence that may use the one-byte long form (0x81).
  const length = (): number => {
    const first = byte();
    if (first < 0x80) return first;
    if (first === 0x81) {
      const value = byte();
      if (value < 0x80) throw new DerSignatureError('non-minimal length');
      return value;
    }
    throw new DerSignatureError('unsupported length form');
  };
  const integer = (): Uint8Array => {
    if (byte() !== INTEGER) throw new DerSignatureError('expected an INTEGER');
    const len = length();
    if (len === 0 || offset + len > der.length) throw new DerSignatureError('bad INTEGER length');
    let value = der.subarray(offset, offset + len);
    offset += len;
    if (value[0]! & 0x80) throw new DerSignatureError('negative INTEGER');
    if (value.length > 1 && value[0] === 0x00 && !(value[1]! & 0x80)) throw new DerSignatureError('non-minimal INTEGER');
    if (value.length === 1 && value[0] === 0x00) throw new DerSignatureError('zero INTEGER');
    // The 0x00 sign byte is not part of the value.
    if (value[0] === 0x00) value = value.subarray(1);
    if (value.length > size) throw new DerSignatureError('INTEGER larger than the curve');
    return value;
  };

  if (byte() !== SEQUENCE) throw new DerSignatureError('expected a SEQUENCE');
  const sequenceLength = length();
  if (offset + sequenceLength !== der.length) throw new DerSignatureError('SEQUENCE length does not match');
  const r = integer();
  const s = integer();
  if (offset !== der.length) throw new DerSignatureError('trailing bytes');

  const out = new Uint8Array(size * 2);
  out.set(r, size - r.length);
  out.set(s, size * 2 - s.length);
  return out;
}
