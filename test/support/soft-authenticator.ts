/**
 * A software passkey authenticator for tests: it answers creation and request
 * options the way a browser plus a platform authenticator would, producing
 * the `PublicKeyCredential.toJSON()` forms, base64url-encoded as
 * `webauthn_encoded_result`. Knobs let a test play an attacker: another
 * origin or RP ID, no user verification, a counter that goes backwards, a
 * cloned key.
 *
 * It only ENCODES authenticator data (fixed byte layouts, plus the constant
 * CBOR envelope of a `none` attestation); the server side never parses by hand.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

export interface CeremonyOptions {
  /** The origin the "browser" reports; default the authenticator's. */
  origin?: string;
  /** The RP ID whose hash goes into authenticator data; default the options' rpId. */
  rpId?: string;
  userVerified?: boolean;
  userPresent?: boolean;
  /** Force the signature counter of this ceremony. */
  counter?: number;
  /** Override the challenge echoed in clientDataJSON. */
  challenge?: string;
  crossOrigin?: boolean;
  /**
   * Sign until the DER signature has an r or s shorter than 32 bytes (a
   * minimal integer with leading zero bytes): about 1 signature in 128 is like
   * that with any real authenticator.
   */
  shortSignatureInteger?: boolean;
}

/** Whether a DER ECDSA signature holds an integer shorter than 32 bytes. */
export function hasShortInteger(der: Buffer): boolean {
  const rLength = der[3]!;
  const sLength = der[4 + rLength + 1]!;
  return rLength < 32 || sLength < 32;
}

export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  publicKeySpki: string;
  rpId: string;
  userHandle: string;
  counter: number;
}

const b64url = (bytes: Uint8Array | string) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

export function encodeResult(json: unknown): string {
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

function flagsByte(o: { up: boolean; uv: boolean; at?: boolean; be?: boolean; bs?: boolean }): number {
  return (o.up ? 0x01 : 0) | (o.uv ? 0x04 : 0) | (o.be ? 0x08 : 0) | (o.bs ? 0x10 : 0) | (o.at ? 0x40 : 0);
}

function counterBytes(counter: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(counter);
  return b;
}

/** COSE_Key of a P-256 public key: the constant CBOR map {1:2, 3:-7, -1:1, -2:x, -3:y}. */
function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const x = Buffer.from(jwk.x!, 'base64url');
  const y = Buffer.from(jwk.y!, 'base64url');
  return Buffer.concat([Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]), x, Buffer.from([0x22, 0x58, 0x20]), y]);
}

/** `{fmt: "none", attStmt: {}, authData}` as CBOR. */
function noneAttestation(authData: Buffer): Buffer {
  const header = Buffer.from([0xa3, 0x63, ...Buffer.from('fmt'), 0x64, ...Buffer.from('none'), 0x67, ...Buffer.from('attStmt'), 0xa0, 0x68, ...Buffer.from('authData'), 0x59]);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(authData.length);
  return Buffer.concat([header, length, authData]);
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  /** Synced passkey flags (backup eligible and backed up). */
  synced = false;

  constructor(readonly origin: string) {}

  /** navigator.credentials.create() with `credential_creation_options`; returns `webauthn_encoded_result`. */
  create(options: any, o: CeremonyOptions = {}): string {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const credentialId = randomBytes(16);
    const rpId = options.rp.id as string;
    const credential: SoftCredential = {
      id: b64url(credentialId),
      privateKey,
      publicKeySpki: b64url(publicKey.export({ format: 'der', type: 'spki' })),
      rpId,
      userHandle: options.user.id,
      counter: o.counter ?? 0,
    };
    const clientData = this.clientData('webauthn.create', options.challenge, o);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const authData = Buffer.concat([
      sha256(o.rpId ?? rpId),
      Buffer.from([flagsByte({ up: o.userPresent ?? true, uv: o.userVerified ?? true, at: true, be: this.synced, bs: this.synced })]),
      counterBytes(credential.counter),
      Buffer.alloc(16),
      idLength,
      credentialId,
      coseKey(publicKey),
    ]);
    this.credentials.push(credential);
    return encodeResult({
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        attestationObject: b64url(noneAttestation(authData)),
        authenticatorData: b64url(authData),
        publicKey: credential.publicKeySpki,
        publicKeyAlgorithm: -7,
        transports: ['internal', 'hybrid'],
      },
    });
  }

  /** navigator.credentials.get() with `credential_request_options`; returns `webauthn_encoded_result`. */
  get(options: any, o: CeremonyOptions & { credential?: SoftCredential } = {}): string {
    const allowed: string[] = (options.allowCredentials ?? []).map((c: { id: string }) => c.id);
    const credential =
      o.credential ?? this.credentials.find((c) => c.rpId === options.rpId && (allowed.length === 0 || allowed.includes(c.id)));
    if (!credential) throw new Error('NotAllowedError: no matching credential');
    credential.counter = o.counter ?? credential.counter + 1;
    const clientData = this.clientData('webauthn.get', options.challenge, o);
    const authData = Buffer.concat([
      sha256(o.rpId ?? options.rpId),
      Buffer.from([flagsByte({ up: o.userPresent ?? true, uv: o.userVerified ?? true, be: this.synced, bs: this.synced })]),
      counterBytes(credential.counter),
    ]);
    const signed = Buffer.concat([authData, sha256(clientData)]);
    let signature = sign('sha256', signed, credential.privateKey);
    while (o.shortSignatureInteger && !hasShortInteger(signature)) signature = sign('sha256', signed, credential.privateKey);
    return encodeResult({
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientData),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        userHandle: credential.userHandle,
      },
    });
  }

  /** A second authenticator holding the same credential ID under a different key (a forged clone). */
  forgeClone(): SoftAuthenticator {
    const clone = new SoftAuthenticator(this.origin);
    for (const c of this.credentials) {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      clone.credentials.push({ ...c, privateKey, publicKeySpki: b64url(publicKey.export({ format: 'der', type: 'spki' })) });
    }
    return clone;
  }

  private clientData(type: string, challenge: string, o: CeremonyOptions): string {
    return JSON.stringify({ type, challenge: o.challenge ?? challenge, origin: o.origin ?? this.origin, crossOrigin: o.crossOrigin ?? false });
  }
}
