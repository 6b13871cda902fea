/**
 * Deploy day and rotation day, simulated: the first deploy and the three
 * deploys of a signing key rotation (docs/deploy.md, section 5) run in
 * sequence against a KMS and IAM that behave as a deploy meets them
 * (test/support/simulated-kms.ts): a new key is not found and a new grant
 * not honoured for their first seconds, and a dropped grant ends at once.
 *
 * Each deploy does what CloudFormation does, in its order: create the new
 * keys, update the IAM policies (the grants the real SigningKey construct
 * synthesizes for that phase), run the public keys custom resource (the real
 * handler, on simulated time), then update the functions one by one, so for
 * a while functions of the old and of the new configuration both sign and
 * verify. The token-issuing handler (POST /oidc/token, KMS Sign) runs in
 * both, through the test harness, and every token is checked by a verifying
 * function of both. No resource may fail and no handler may answer 5xx.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import type { CloudFormationCustomResourceEvent, CloudFormationCustomResourceResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmsSigner } from '../../functions/adapters/aws/kms-signer.js';
import { answer, PUBLIC_KEYS_RESOURCE_ID } from '../../functions/adapters/aws/public-keys-resource.js';
import { PUBLIC_KEYS_FORMAT_VERSION, RESOURCE_TIMEOUT_SECONDS } from '../../functions/adapters/aws/public-keys-resource-limits.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { handler as usersGet } from '../../functions/handlers/users-get.js';
import { parsePublishedKeys, publishedKeysOnly, type PublishedJwk } from '../../functions/published-keys.js';
import { installDeps } from '../../functions/runtime.js';
import { SigningKey, type SigningKeyProps } from '../../lib/constructs/signing-key.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { SimulatedKms } from '../support/simulated-kms.js';

const ACCOUNT = '123456789012';
/** The ARN KMS gives the key of each logical id in the simulation. */
const ARNS: Record<string, string> = {
  SigningKey: `arn:aws:kms:us-east-1:${ACCOUNT}:key/generation-1`,
  SigningKeyV2: `arn:aws:kms:us-east-1:${ACCOUNT}:key/generation-2`,
  SigningKeyV3: `arn:aws:kms:us-east-1:${ACCOUNT}:key/generation-3`,
};

/** What a phase deploys, read from the SigningKey construct's synthesized template. */
interface Deployed {
  /** KMS key logical ids in the template. */
  keys: string[];
  /** KMS_KEY_ID of every function. */
  signingKey: string;
  /** The custom resource's KeyIds: the keys published. */
  published: string[];
  /** kms:Sign of the signing functions' role; kms:GetPublicKey of the custom resource's role. */
  sign: string[];
  getPublicKey: string[];
}

function synthesize(props: SigningKeyProps): Deployed {
  const stack = new Stack(new App(), 'Twofold', { env: { account: ACCOUNT, region: 'us-east-1' } });
  const key = new SigningKey(stack, 'Signing', props);
  const signer = new Role(stack, 'Signer', { assumedBy: new AccountRootPrincipal() });
  const reader = new Role(stack, 'Reader', { assumedBy: new AccountRootPrincipal() });
  key.grantSign(signer);
  key.grantPublicKeys(reader);
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties: any }>;
  const arn = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const id = (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return ARNS[id]!;
  };
  const grants = (role: string, action: string) =>
    Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref.startsWith(role)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .filter((s: { Action: string | string[] }) => [s.Action].flat().includes(action))
      .flatMap((s: { Resource: unknown }) => [s.Resource].flat().map(arn));
  return {
    keys: Object.entries(resources).filter(([, r]) => r.Type === 'AWS::KMS::Key').map(([id]) => id),
    signingKey: arn(stack.resolve(key.key.keyArn)),
    published: key.publishedKeyArns().map((a) => arn(stack.resolve(a))),
    sign: grants('Signer', 'kms:Sign'),
    getPublicKey: grants('Reader', 'kms:GetPublicKey'),
  };
}

/** The deploys of docs/deploy.md, with the context each passes. */
const PHASES = {
  first: { generation: 1 },
  publish: { generation: 1, publishNextKey: true },
  sign: { generation: 2, previousKeyArns: [ARNS.SigningKey!] },
  retire: { generation: 2 },
} satisfies Record<string, SigningKeyProps>;
type Phase = keyof typeof PHASES;

/** A function as deployed: the key it signs with and the keys it trusts (SIGNING_PUBLIC_KEYS). */
interface FunctionConfig {
  signingKey: string;
  keys: PublishedJwk[];
}

let sim: SimulatedKms;
let t: TestContext;
let clientId: string;
let clientSecret: string;
/** Every status a handler answered, with where. */
const statuses: Array<{ phase: string; what: string; status: number }> = [];

/** Simulated time passes for KMS, IAM and the service's clock alike. */
function wait(ms: number): void {
  sim.advance(ms);
  t.clock.advance(ms);
}

/** The public keys custom resource as CloudFormation invokes it, on simulated time. */
async function runResource(requestType: 'Create' | 'Update', keyIds: string[], oldKeyIds?: string[]): Promise<CloudFormationCustomResourceResponse> {
  const event = {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:keys',
    ResponseURL: 'https://cloudformation-custom-resource-response.example/signed',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/Twofold/1',
    RequestId: `request-${sim.now}`,
    LogicalResourceId: 'PublishedKeysResource',
    ResourceType: 'Custom::TwofoldSigningPublicKeys',
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:keys', KeyIds: keyIds, FormatVersion: PUBLIC_KEYS_FORMAT_VERSION },
    ...(requestType === 'Update' ? { PhysicalResourceId: PUBLIC_KEYS_RESOURCE_ID, OldResourceProperties: { KeyIds: oldKeyIds, FormatVersion: PUBLIC_KEYS_FORMAT_VERSION } } : {}),
  } as CloudFormationCustomResourceEvent;
  const started = sim.now;
  const answers: CloudFormationCustomResourceResponse[] = [];
  await answer(event, {
    kms: sim.clientFor('reader'),
    now: () => sim.now,
    sleep: async (ms) => wait(ms),
    remainingMs: () => RESOURCE_TIMEOUT_SECONDS * 1000 - (sim.now - started),
    log: () => {},
    send: async (_url, response) => {
      answers.push(response);
    },
  });
  expect(answers).toHaveLength(1);
  return answers[0]!;
}

/** POST /oidc/token in a function deployed with `config`. */
async function issue(phase: string, config: FunctionConfig): Promise<string | undefined> {
  const signer = new KmsSigner(sim.clientFor('signer') as KMSClient, { keyId: config.signingKey, publicKeys: config.keys });
  installDeps({ ...t.deps, signer });
  const res = await invoke(oidcToken, { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } });
  statuses.push({ phase, what: `token signed with ${config.signingKey}`, status: res.status });
  return res.status === 200 ? (res.body.access_token as string) : undefined;
}

/** A verifying function deployed with `config` checks `token`: 404 (unknown user) means accepted, 401 refused. */
async function check(phase: string, config: FunctionConfig, token: string): Promise<number> {
  installDeps({ ...t.deps, signer: publishedKeysOnly(config.keys) });
  const res = await invoke(usersGet, { token, params: { user_id: 'nobody' } });
  statuses.push({ phase, what: 'token checked', status: res.status });
  return res.status;
}

/**
 * One deploy of `phase`, in CloudFormation's order, from the configuration
 * `before` (undefined: the stack's creation). `grantsOf` stands in for the
 * construct's grants, to show what other grants would do.
 */
async function deploy(phase: Phase, before: { deployed: Deployed; config: FunctionConfig } | undefined, grantsOf = (d: Deployed) => d.sign) {
  const deployed = synthesize(PHASES[phase]);
  // 1. New resources first: the keys this template adds.
  for (const id of deployed.keys) if (!before?.deployed.keys.includes(id) && !before?.deployed.published.includes(ARNS[id]!)) sim.createKey(ARNS[id]!);
  // 2. Then the IAM policies, while every function still runs the old configuration.
  sim.setGrants('reader', 'kms:GetPublicKey', deployed.getPublicKey);
  sim.setGrants('signer', 'kms:Sign', grantsOf(deployed));
  wait(1_000);
  // 3. The custom resource, seconds after the keys and grants it reads.
  const response = await runResource(before ? 'Update' : 'Create', deployed.published, before?.deployed.published);
  expect(response, `${phase}: the public keys resource`).toMatchObject({ Status: 'SUCCESS' });
  const config: FunctionConfig = { signingKey: deployed.signingKey, keys: parsePublishedKeys(response.Data!.Keys as string) };
  // 4. The functions update one by one: old and new configurations run side by side, each signing and checking.
  for (let step = 0; step < 3; step++) {
    for (const [issuer, verifier] of before ? ([[before.config, config], [config, before.config], [before.config, before.config], [config, config]] as const) : ([[config, config]] as const)) {
      const token = await issue(phase, issuer);
      if (token) expect(await check(phase, verifier, token), `${phase}: token of ${issuer.signingKey} at a function trusting ${verifier.keys.length} keys`).toBe(404);
    }
    wait(10_000);
  }
  return { deployed, config };
}

/** A fresh KMS and IAM (no key, no grant) in place of the last one. */
function freshKms(): void {
  sim?.mock.restore();
  sim = new SimulatedKms({ keyMs: 8_000, grantMs: 5_000 });
}

beforeAll(async () => {
  freshKms();
  t = await createTestDeps();
  ({ client: { client_id: clientId }, secret: clientSecret } = await createTestClient(t.deps));
});

afterAll(() => sim.mock.restore());

describe('deploy day: the first deploy', () => {
  it('waits out the new key and the new grant, and every function signs and verifies from the start', async () => {
    await deploy('first', undefined);
    // The custom resource met both propagation errors before it succeeded: the first deploy that used to fail.
    const reads = sim.answers.filter((a) => a.principal === 'reader').map((a) => a.outcome);
    expect(reads).toContain('AccessDeniedException');
    expect(reads).toContain('NotFoundException');
    expect(reads.at(-1)).toBe('ok');
    expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
  });
});

describe('rotation day: three deploys, functions updating one by one in each', () => {
  /** On a fresh KMS: the first deploy, phase 1 an hour later, and five minutes for phase 2 to wait out. */
  async function deployThroughPublish() {
    freshKms();
    const first = await deploy('first', undefined);
    wait(3_600_000);
    const publish = await deploy('publish', first);
    wait(300_000);
    return publish;
  }

  it('no resource fails, no token-issuing handler answers 5xx, and every token is accepted by the functions beside it', async () => {
    statuses.length = 0;
    const publish = await deployThroughPublish();
    const sign = await deploy('sign', publish);
    wait(3_900_000);
    const retire = await deploy('retire', sign);
    // Only after phase 3 succeeded: the old key is scheduled for deletion.
    sim.scheduleKeyDeletion(ARNS.SigningKey!);

    expect(statuses.filter((s) => s.status >= 500)).toEqual([]);
    expect(statuses.filter((s) => s.status !== 200 && s.status !== 404)).toEqual([]);
    // Both keys signed during phase 2's deploy: the functions not yet updated kept signing with generation 1.
    const signs = sim.answers.filter((a) => a.command === 'Sign');
    expect(signs.every((a) => a.outcome === 'ok')).toBe(true);
    expect(new Set(signs.map((a) => a.keyId))).toEqual(new Set([ARNS.SigningKey, ARNS.SigningKeyV2]));
    expect(retire.config.keys.map((k) => k.kid)).toEqual([sign.config.keys[0]!.kid]);
    // The next key was created, granted and read in phase 1, hours before phase 2 signed with it.
    expect(publish.deployed.sign).toEqual([ARNS.SigningKey, ARNS.SigningKeyV2]);
    expect(sign.deployed.sign).toEqual([ARNS.SigningKeyV2, ARNS.SigningKey]);
    expect(retire.deployed.sign).toEqual([ARNS.SigningKeyV2]);
  });

  it('had phase 2 granted kms:Sign on the new key only, the functions not yet updated would have answered 503 (the outage this prevents)', async () => {
    statuses.length = 0;
    const publish = await deployThroughPublish();
    await deploy('sign', publish, (d) => [d.signingKey]);
    const failures = statuses.filter((s) => s.status >= 500);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((s) => s.phase === 'sign' && s.what === `token signed with ${ARNS.SigningKey}` && s.status === 503)).toBe(true);
  });

  it('scheduling the old key\'s deletion before phase 3 had succeeded would fail the rollback to phase 2: the resource cannot read the key', async () => {
    const publish = await deployThroughPublish();
    const sign = await deploy('sign', publish);
    sim.scheduleKeyDeletion(ARNS.SigningKey!);
    // A failed phase 3 rolls back to phase 2's template, which runs the resource with phase 2's keys again.
    const rollback = await runResource('Update', sign.deployed.published, [ARNS.SigningKeyV2!]);
    expect(rollback).toMatchObject({ Status: 'FAILED', Reason: expect.stringContaining('KMSInvalidStateException') });
  });
});
