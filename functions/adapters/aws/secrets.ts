/**
 * The secrets a function reads once per cold start from Secrets Manager: the
 * hash key, the TOTP keyring and the user-token keyring. Loaded by wiring.ts only in functions whose
 * route declares one of them.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseKeyring, type SealKeyring } from '../../core/crypto.js';
import { parseTotpKeyring } from '../../core/totp-seal.js';
import { dependencyFailure } from './failures.js';

/** HMAC-SHA-256 keys shorter than the hash output would weaken it. */
export const MIN_HASH_KEY_BYTES = 32;

/** Reads the hash key once: the secret's bytes (SecretString as UTF-8, or SecretBinary). */
export async function readHashKey(secrets: SecretsManagerClient, secretId: string): Promise<Uint8Array> {
  let response;
  try {
    response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    throw dependencyFailure('secretsmanager', error);
  }
  const key = response.SecretBinary ? Uint8Array.from(response.SecretBinary) : Buffer.from(response.SecretString ?? '', 'utf8');
  // A wrong secret is a deployment mistake, not an outage: a plain error (500, detail in the log).
  if (key.length < MIN_HASH_KEY_BYTES) {
    throw new Error(`the hash key secret holds ${key.length} bytes; at least ${MIN_HASH_KEY_BYTES} are needed`);
  }
  return key;
}

/** Reads the TOTP keyring once: the secret's JSON object of key versions, `ids` in use (the first seals). */
export async function readTotpKeyring(secrets: SecretsManagerClient, secretId: string, ids: readonly string[]): Promise<SealKeyring> {
  let response;
  try {
    response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    throw dependencyFailure('secretsmanager', error);
  }
  // A wrong secret is a deployment mistake, not an outage: a plain error (500, detail in the log).
  return parseTotpKeyring(response.SecretString ?? '', ids);
}

/** A user-token MAC key shorter than the HMAC-SHA-256 output would weaken it. */
export const MIN_USER_TOKEN_KEY_BYTES = 32;

/** Reads the user-token keyring once: the secret's JSON object of key versions, `ids` in use (the first mints). */
export async function readUserTokenKeyring(secrets: SecretsManagerClient, secretId: string, ids: readonly string[]): Promise<SealKeyring> {
  let response;
  try {
    response = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  } catch (error) {
    throw dependencyFailure('secretsmanager', error);
  }
  // A wrong secret is a deployment mistake, not an outage: a plain error (500, detail in the log).
  return parseKeyring(response.SecretString ?? '', ids, 'user-token', MIN_USER_TOKEN_KEY_BYTES);
}
