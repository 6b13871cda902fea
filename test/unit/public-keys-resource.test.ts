/**
 * The deploy-time custom resource that reads the signing keys' public halves
 * from KMS for SIGNING_PUBLIC_KEYS: what it asks KMS, what it answers
 * CloudFormation, that it waits out what a new key or grant answers in its
 * first seconds, and that it answers on every path, even when KMS or the key
 * is wrong or a call hangs (a custom resource that never answers stalls the
 * deploy until its service timeout).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetPublicKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { calculateJwkThumbprint } from 'jose';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { answer, PUBLIC_KEYS_RESOURCE_ID, respond, retryDelayMs, type ResourceRuntime } from '../../functions/adapters/aws/public-keys-resource.js';
import {
  MAX_RETRY_DELAY_MS,
  PUBLIC_KEYS_FORMAT_VERSION,
  RESOURCE_ANSWER_MARGIN_MS,
  RESOURCE_TIMEOUT_SECONDS,
  RETRY_BUDGET_MS,
} from '../../functions/adapters/aws/public-keys-resource-limits.js';
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

/** Simulated time: sleeping moves it, nothing waits. */
let now = 0;
let slept: number[] = [];
const simulated = (): Partial<ResourceRuntime> => ({
  now: () => now,
  sleep: async (ms) => {
    slept.push(ms);
    now += ms;
  },
  remainingMs: () => RESOURCE_TIMEOUT_SECONDS * 1000 - now,
  log: () => {},
});
beforeEach(() => {
  now = 0;
  slept = [];
});

async function answered(e: CloudFormationCustomResourceEvent, runtime: Partial<ResourceRuntime> = {}): Promise<CloudFormationCustomResourceResponse> {
  const sent: Array<[string, CloudFormationCustomResourceResponse]> = [];
  await answer(e, {
    ...simulated(),
    ...runtime,
    send: async (url, response) => {
      sent.push([url, response]);
    },
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

/** KMS as a deploy meets it: `name` for the first `forMs` of simulated time for `keyId`, then the key. */
function propagating(keyId: string, name: string, forMs: number) {
  kms.on(GetPublicKeyCommand).callsFake(({ KeyId }: { KeyId: string }) => {
    if (KeyId === keyId && now < forMs) throw Object.assign(new Error('not yet'), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
    const key = KEYS.get(KeyId)!;
    return { KeyId, PublicKey: key.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' };
  });
}

describe('a deploy that creates a key or a grant seconds before the resource runs', () => {
  it.each(['NotFoundException', 'AccessDeniedException', 'KMSInvalidStateException', 'ThrottlingException', 'KMSInternalException'])(
    'waits out %s for the first seconds and answers the keys',
    async (name) => {
      propagating(NEXT.keyId, name, 20_000);
      const response = await answered(event('Update', [CURRENT.keyId, NEXT.keyId]));
      expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID });
      expect(parsePublishedKeys(response.Data!.Keys as string).map((k) => k.x)).toEqual([CURRENT.jwk.x, NEXT.jwk.x]);
      expect(slept.length).toBeGreaterThan(1);
      expect(now).toBeGreaterThanOrEqual(20_000);
    },
  );

  it('backs off exponentially, each wait capped, and gives up inside its budget with a reason naming the error, still answering', async () => {
    propagating(CURRENT.keyId, 'NotFoundException', Infinity);
    const response = await answered(event('Create', [CURRENT.keyId]));
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID, Reason: expect.stringMatching(/KMS still answered NotFoundException after \d+ attempts/) });
    expect(slept.slice(0, 4).every((ms, i) => i === 0 || ms > slept[i - 1]!)).toBe(true);
    expect(Math.max(...slept)).toBeLessThanOrEqual(MAX_RETRY_DELAY_MS);
    // About the whole budget was used, never more; the function's timeout is never reached.
    expect(now).toBeLessThanOrEqual(RETRY_BUDGET_MS);
    expect(now).toBeGreaterThan(RETRY_BUDGET_MS - MAX_RETRY_DELAY_MS);
    expect(kms.commandCalls(GetPublicKeyCommand).length).toBe(slept.length + 1);
  });

  it('stops retrying before the Lambda deadline when less time is left than the budget', async () => {
    propagating(CURRENT.keyId, 'AccessDeniedException', Infinity);
    const remaining = RESOURCE_ANSWER_MARGIN_MS + 30_000;
    const response = await answered(event('Create', [CURRENT.keyId]), { remainingMs: () => remaining - now });
    expect(response).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('AccessDeniedException') });
    expect(now).toBeLessThan(remaining - RESOURCE_ANSWER_MARGIN_MS);
  });

  it('fails at once, without retrying, on what no wait can fix: a key that is not ES256', async () => {
    kms.on(GetPublicKeyCommand).resolves({ KeyId: CURRENT.keyId, PublicKey: CURRENT.spki, KeySpec: 'ECC_SECG_P256K1', KeyUsage: 'SIGN_VERIFY' });
    expect(await answered(event('Create', [CURRENT.keyId]))).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/ECC_NIST_P256/) });
    expect(slept).toEqual([]);
    kms.on(GetPublicKeyCommand).rejects(Object.assign(new Error('bad arn'), { name: 'InvalidArnException', $metadata: { httpStatusCode: 400 } }));
    expect(await answered(event('Create', [CURRENT.keyId]))).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('InvalidArnException') });
    expect(slept).toEqual([]);
  });

  it('answers FAILED when the deadline approaches while a KMS call hangs', async () => {
    kms.on(GetPublicKeyCommand).callsFake(() => new Promise(() => {}));
    const response = await answered(event('Create', [CURRENT.keyId]), { alarm: () => ({ fired: Promise.resolve(), cancel() {} }) });
    expect(response).toMatchObject({ Status: 'FAILED', Reason: expect.stringMatching(/before the function's deadline/) });
  });

  it('answers FAILED on an unexpected error', async () => {
    kms.on(GetPublicKeyCommand).callsFake(() => {
      throw new TypeError('something unforeseen');
    });
    expect(await answered(event('Update', [CURRENT.keyId]))).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('kms') });
  });

  it('doubles its waits up to the cap, with jitter in the upper half', () => {
    expect([1, 2, 3, 4, 5, 6, 10].map((n) => retryDelayMs(n, () => 0))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 6].map((n) => retryDelayMs(n, () => 1))).toEqual([500, 1000, 10_000]);
  });
});

describe('the version of its answer', () => {
  it('is in the answer; bump PUBLIC_KEYS_FORMAT_VERSION (a property of the resource, so the next deploy runs it again) whenever this shape changes', async () => {
    const response = await answered(event('Create', [CURRENT.keyId]));
    const keys = JSON.parse(response.Data!.Keys as string) as Array<Record<string, unknown>>;
    expect({ version: PUBLIC_KEYS_FORMAT_VERSION, attributes: Object.keys(response.Data!).sort(), members: Object.keys(keys[0]!).sort() }).toEqual({
      version: '2',
      attributes: ['FormatVersion', 'Keys'],
      members: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
    });
    expect(response.Data!.FormatVersion).toBe(PUBLIC_KEYS_FORMAT_VERSION);
  });
});

describe('the answer to CloudFormation', () => {
  async function withServer(statuses: number[], fn: (url: string) => Promise<void>): Promise<number> {
    let calls = 0;
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.statusCode = statuses[Math.min(calls++, statuses.length - 1)]!;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/signed`);
    } finally {
      server.close();
    }
    return calls;
  }
  const response = { Status: 'SUCCESS', PhysicalResourceId: 'p', StackId: 's', RequestId: 'r', LogicalResourceId: 'l' } as const;
  const noWait = async () => {};

  it('is PUT again after a server error, until it is taken', async () => {
    expect(await withServer([503, 500, 200], (url) => respond(url, response, noWait))).toBe(3);
  });

  it('is not retried when the URL itself is refused, and the invocation fails (Lambda retries it)', async () => {
    let error: unknown;
    expect(await withServer([403], (url) => respond(url, response, noWait).catch((e) => void (error = e)))).toBe(1);
    expect(String(error)).toMatch(/HTTP 403/);
  });
});
