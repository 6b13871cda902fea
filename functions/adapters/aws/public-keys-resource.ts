/**
 * The deploy-time custom resource behind SIGNING_PUBLIC_KEYS
 * (lib/constructs/published-keys.ts): CloudFormation calls it when the
 * signing keys of the stack change (a deploy, a rotation phase); it reads each
 * key's public half from KMS (GetPublicKey, checked to be an ES256 key) and
 * answers the JWKs, the signing key first, as the `Keys` attribute that every
 * function then receives in its environment. No function calls KMS for them.
 *
 * A Lambda-backed custom resource answers CloudFormation itself, by a PUT to
 * the pre-signed `ResponseURL`; it always answers, or the stack would wait
 * for an hour.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { MAX_PUBLISHED_KEYS, type PublishedJwk } from '../../published-keys.js';
import { fetchPublishedKey } from './kms-signer.js';
import { awsClientOptions } from './sdk-options.js';

export const PUBLIC_KEYS_RESOURCE_ID = 'twofold-signing-public-keys';

/** The JWKs of `keyIds`, in order, each once. */
export async function publishedKeysOf(kms: KMSClient, keyIds: readonly string[]): Promise<PublishedJwk[]> {
  const ids = [...new Set(keyIds)];
  if (ids.length === 0) throw new Error('no signing key given');
  if (ids.length > MAX_PUBLISHED_KEYS) throw new Error(`${ids.length} signing keys given; at most ${MAX_PUBLISHED_KEYS} fit the functions' environment`);
  const keys = await Promise.all(ids.map((id) => fetchPublishedKey(kms, id)));
  return keys.filter((key, i) => keys.findIndex((other) => other.kid === key.kid) === i);
}

let kms: KMSClient | undefined;

/** The Lambda entry point. */
export const handler = (event: CloudFormationCustomResourceEvent): Promise<void> => answer(event, respond);

/** Reads the keys `event` asks for and has `send` answer CloudFormation: success with the keys, or failure with the reason. */
export async function answer(event: CloudFormationCustomResourceEvent, send: typeof respond): Promise<void> {
  const base = {
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    PhysicalResourceId: event.RequestType === 'Create' ? PUBLIC_KEYS_RESOURCE_ID : event.PhysicalResourceId,
  };
  let response: CloudFormationCustomResourceResponse;
  try {
    if (event.RequestType === 'Delete') {
      response = { ...base, Status: 'SUCCESS' };
    } else {
      const keyIds = event.ResourceProperties.KeyIds as unknown;
      if (!Array.isArray(keyIds) || !keyIds.every((id) => typeof id === 'string')) throw new Error('KeyIds must be a list of KMS key ids');
      kms ??= new KMSClient(awsClientOptions());
      const keys = await publishedKeysOf(kms, keyIds);
      response = { ...base, Status: 'SUCCESS', Data: { Keys: JSON.stringify(keys) } };
    }
  } catch (error) {
    const e = error as Error;
    // Names and messages only: a dependency failure keeps the SDK's message out (functions/adapters/aws/failures.ts).
    const reason = e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message;
    console.error(JSON.stringify({ level: 'error', msg: 'signing public keys not read', error: reason }));
    response = { ...base, Status: 'FAILED', Reason: reason.slice(0, 1000) };
  }
  await send(event.ResponseURL, response);
}

/** PUTs the answer to CloudFormation's pre-signed URL (an empty content type, as the URL was signed for). */
export async function respond(url: string, response: CloudFormationCustomResourceResponse): Promise<void> {
  const body = JSON.stringify(response);
  const reply = await fetch(url, { method: 'PUT', body, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) } });
  if (!reply.ok) throw new Error(`CloudFormation refused the custom resource response: HTTP ${reply.status}`);
}
