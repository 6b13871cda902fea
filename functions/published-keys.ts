/**
 * The public halves of the signing keys, as the stack puts them in every
 * function's environment at deploy time (SIGNING_PUBLIC_KEYS, read from KMS
 * by a custom resource: lib/constructs/published-keys.ts): a JSON array of
 * ES256 JWKs, the signing key first, then the keys of a rotation (next and
 * previous). No function fetches them from KMS, so verifying a token and
 * serving the JWKS make no KMS call, and only the signing functions load a
 * KMS client. Free of the AWS SDK, zod and jose: the JWKS function imports it.
 * It loads node:crypto when it first checks a key, not at import, so the JWKS
 * function's cold import stays that of an empty handler.
 */
import { createRequire } from 'node:module';
import type { JWK } from 'jose';
import type { Signer } from './ports.js';

export const PUBLISHED_KEYS_VARIABLE = 'SIGNING_PUBLIC_KEYS';

/**
 * Lambda allows 4 KB of environment in all; each key takes about 190 bytes.
 * A rotation needs two keys at a time, three while the previous key's tokens
 * expire; the rest is room for keys kept for longer.
 */
export const MAX_PUBLISHED_KEYS = 8;

/** An ES256 public key as the JWKS publishes it; `kid` is its RFC 7638 thumbprint. */
export interface PublishedJwk extends JWK {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

/** node:crypto, loaded on first use (every supported Node version has `createRequire`; `process.getBuiltinModule` needs 20.16). */
const crypto = (): typeof import('node:crypto') => createRequire(import.meta.url)('node:crypto');

/** RFC 7638 thumbprint of an EC key (the members it names, in lexicographic order), as jose computes it. */
export function thumbprint(jwk: { crv: string; kty: string; x: string; y: string }): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return crypto().createHash('sha256').update(canonical).digest('base64url');
}

/** The JWK of a DER SubjectPublicKeyInfo (what KMS GetPublicKey returns); refuses anything but a P-256 key. */
export function jwkFromSpki(spki: Uint8Array): PublishedJwk {
  const exported = crypto().createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  if (exported.kty !== 'EC' || exported.crv !== 'P-256') throw new Error(`the public key is ${exported.kty} ${exported.crv ?? ''}; ES256 needs an EC P-256 key`);
  const key = { kty: 'EC', crv: 'P-256', x: exported.x!, y: exported.y! } as const;
  return { ...key, kid: thumbprint(key), alg: 'ES256', use: 'sig' };
}

const COORDINATE = /^[A-Za-z0-9_-]{43}$/;

/**
 * Parses and checks SIGNING_PUBLIC_KEYS: a non-empty JSON array of at most
 * MAX_PUBLISHED_KEYS distinct P-256 JWKs whose `kid` is their thumbprint.
 * Throws an Error naming the problem (public keys are no secret).
 */
export function parsePublishedKeys(raw: string | undefined): PublishedJwk[] {
  if (!raw?.trim()) throw new Error(`${PUBLISHED_KEYS_VARIABLE} is missing`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${PUBLISHED_KEYS_VARIABLE} must be a JSON array of JWKs`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw new Error(`${PUBLISHED_KEYS_VARIABLE} must be a non-empty JSON array of JWKs`);
  if (parsed.length > MAX_PUBLISHED_KEYS) throw new Error(`${PUBLISHED_KEYS_VARIABLE} holds ${parsed.length} keys; at most ${MAX_PUBLISHED_KEYS} fit the environment`);
  const keys = parsed.map((entry: unknown, i): PublishedJwk => {
    const k = (entry ?? {}) as Record<string, unknown>;
    if (k.kty !== 'EC' || k.crv !== 'P-256' || typeof k.x !== 'string' || typeof k.y !== 'string' || !COORDINATE.test(k.x) || !COORDINATE.test(k.y)) {
      throw new Error(`${PUBLISHED_KEYS_VARIABLE} key ${i} is not an EC P-256 JWK`);
    }
    const key = { kty: 'EC', crv: 'P-256', x: k.x, y: k.y } as const;
    const kid = thumbprint(key);
    if (k.kid !== kid) throw new Error(`${PUBLISHED_KEYS_VARIABLE} key ${i} has a kid that is not its RFC 7638 thumbprint`);
    return { ...key, kid, alg: 'ES256', use: 'sig' };
  });
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error(`${PUBLISHED_KEYS_VARIABLE} lists a key twice`);
  return keys;
}

let deployed: PublishedJwk[] | undefined;

/** The keys of this deployment, parsed from the environment on first use. */
export function deployedPublicKeys(): PublishedJwk[] {
  deployed ??= parsePublishedKeys(process.env[PUBLISHED_KEYS_VARIABLE]);
  return deployed;
}

/**
 * The signer port of a function that verifies tokens but never issues one:
 * the deployed public keys, no KMS client. Its route has no `sign`
 * capability, so the endpoint never lets a handler reach `sign`.
 */
export function publishedKeysOnly(keys: readonly PublishedJwk[]): Signer {
  if (keys.length === 0) throw new Error('no public keys to verify tokens with');
  return {
    currentKeyId: async () => keys[0]!.kid,
    publicKeys: async () => keys.map((key) => ({ ...key })),
    sign: async () => {
      throw new Error("this function's route has no sign capability");
    },
  };
}
