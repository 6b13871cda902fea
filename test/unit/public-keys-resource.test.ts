/**
 * The deploy-time custom resource that reads the signing keys' public halves
 * from KMS for SIGNING_PUBLIC_KEYS: what it asks KMS, what it answers
 * CloudFormation, and that it answers even when KMS or the key is wrong (a
 * custom resource that never answers stalls the deploy for an hour).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { calculateJwkThumbprint } from 'jose';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { answer, PUBLIC_KEYS_RESOURCE_ID, respond } from '../../functions/adapters/aws/public-keys-resource.js';
import { MAX_PUBLISHED_KEYS, parsePublishedKeys } from '../../functions/published-keys.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';

const kms = mockClient(KMSClient);
const CURRENT = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/current');
const NEXT = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/next');
const PREVIOUS = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/previous');
const KEYS = new Map([CURRENT, NEXT, PREVIOUS].map((key) => [key.keyId, key]));

beforeEach(() => {
  kms.reset();
  kms.on(GetPublicKeyCommand).callsFake(({ KeyId }: { KeyId: string }) => {
    const key = KEYS.get(KeyId);
    if (!key) throw Object.assign(new Error(`Key '${KeyId}' does not exist`), { name: 'NotFoundException', $fault: 'client' });
    return { KeyId, PublicKey: key.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' };
  });
  vi.spyOn(console, 'error').mockImplementation(() => {});
});

function event(requestType: 'Create' | 'Update' | 'Delete', keyIds: unknown): CloudFormationCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:keys',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/signed',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Twofold/1',
    RequestId: 'request-1',
    LogicalResourceId: 'PublishedKeysResource',
    ResourceType: 'Custom::TwofoldSigningPublicKeys',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:keys', KeyIds: keyIds },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID }),
    ...(requestType === 'Update' ? { OldResourceProperties: { KeyIds: [CURRENT.keyId] } } : {}),
  } as CloudFormationCustomResourceEvent;
}

async function answered(e: CloudFormationCustomResourceEvent): Promise<CloudFormationCustomResourceResponse> {
  const sent: Array<[string, CloudFormationCustomResourceResponse]> = [];
  await answer(e, async (url, response) => {
    sent.push([url, response]);
  });
  expect(sent).toHaveLength(1);
  expect(sent[0]![0]).toBe(e.ResponseURL);
  return sent[0]![1];
}

describe('the signing public keys custom resource', () => {
  it('answers the JWKs of the given keys in order, current first, each kid its RFC 7638 thumbprint, and they parse as SIGNING_PUBLIC_KEYS', async () => {
    const response = await answered(event('Create', [CURRENT.keyId, NEXT.keyId, PREVIOUS.keyId]));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID, RequestId: 'request-1', LogicalResourceId: 'PublishedKeysResource' });
    const keys = parsePublishedKeys(response.Data!.Keys as string);
    expect(keys.map((k) => k.kid)).toEqual(await Promise.all([CURRENT, NEXT, PREVIOUS].map((key) => calculateJwkThumbprint(key.jwk, 'sha256'))));
    expect(keys[0]).toEqual({ ...CURRENT.jwk, kid: keys[0]!.kid, alg: 'ES256', use: 'sig' });
    expect(kms.commandCalls(GetPublicKeyCommand).map((call) => call.args[0].input.KeyId)).toEqual([CURRENT.keyId, NEXT.keyId, PREVIOUS.keyId]);
  });

  it('reads the new keys on an update (a rotation phase) under the same physical id', async () => {
    const response = await answered(event('Update', [NEXT.keyId, CURRENT.keyId]));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID });
    expect(parsePublishedKeys(response.Data!.Keys as string).map((k) => k.x)).toEqual([NEXT.jwk.x, CURRENT.jwk.x]);
  });

  it('deletes without calling KMS', async () => {
    expect(await answered(event('Delete', [CURRENT.keyId]))).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID });
    expect(kms.calls()).toHaveLength(0);
  });

  it('fails the deploy, still answering, when a key is missing, not an ES256 key, or there are too many', async () => {
    expect(await answered(event('Create', [CURRENT.keyId, 'arn:aws:kms:us-east-1:123456789012:key/gone']))).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('NotFoundException') });

    kms.on(GetPublicKeyCommand).resolves({ KeyId: CURRENT.keyId, PublicKey: CURRENT.spki, KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    expect(await answered(event('Create', [CURRENT.keyId]))).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/ECC_NIST_P256/) });

    const many = Array.from({ length: MAX_PUBLISHED_KEYS + 1 }, (_, i) => `arn:aws:kms:us-east-1:123456789012:key/${i}`);
    expect(await answered(event('Create', many))).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/at most/) });
    expect(await answered(event('Create', 'not-a-list'))).toMatchObject({ Status: 'FAILED' });
  });

  it('PUTs the answer to the pre-signed URL as JSON with an empty content type', async () => {
    const received: Array<{ method?: string; type?: string; body: string }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method, type: req.headers['content-type'], body });
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = { Status: 'SUCCESS', PhysicalResourceId: 'p', StackId: 's', RequestId: 'r', LogicalResourceId: 'l', Data: { Keys: '[]' } } as const;
      await respond(`http://127.0.0.1:${(server.address() as AddressInfo).port}/signed?x=1`, response);
      expect(received).toEqual([{ method: 'PUT', type: '', body: JSON.stringify(response) }]);
    } finally {
      server.close();
    }
  });
});
