/**
 * What the public metadata routes need (the issuer, the public keys), without
 * the dependency wiring: in Lambda the issuer comes straight from ISSUER,
 * validated as functions/config.ts does, and the keys from the deployment's
 * SIGNING_PUBLIC_KEYS (functions/published-keys.ts); the local server and the
 * tests install both with their dependencies (runtime.ts installDeps). Kept
 * apart from runtime.ts so the discovery, OpenAPI and JWKS bundles hold
 * neither the AWS SDK nor zod.
 */
import type { JWK } from 'jose';
import { deployedPublicKeys } from './published-keys.js';

export interface PublicSettings {
  /** `iss` of every token, without a trailing slash. */
  issuer: string;
}

let installed: Promise<PublicSettings> | undefined;
let installedKeys: (() => Promise<JWK[]>) | undefined;

export function installPublicSettings(settings: Promise<PublicSettings>, publicKeys?: () => Promise<JWK[]>): void {
  installed = settings;
  installedKeys = publicKeys;
}

/** The keys the JWKS publishes: the installed signer's, or in Lambda the ones put in at deploy time. */
export async function publicKeys(): Promise<JWK[]> {
  if (installedKeys) return installedKeys();
  return deployedPublicKeys().map((key) => ({ ...key }));
}

export async function publicSettings(): Promise<PublicSettings> {
  if (installed) return installed;
  const raw = process.env.ISSUER?.trim() ?? '';
  if (!/^https?:\/\/[^\s/]/.test(raw)) throw new Error('ISSUER is missing or not an http(s) URL');
  return { issuer: raw.replace(/\/+$/, '') };
}
