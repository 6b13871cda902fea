/**
 * Rotating the signing key while functions update one by one: every pair of
 * configurations that can run side by side during a deploy must accept each
 * other's tokens. Phase 1 publishes the next key everywhere, phase 2 signs
 * with it, phase 3 (after the longest token lifetime) retires the old one.
 * Each "function" here is the same handler with one phase's signer, as the
 * stack configures it: KMS_KEY_ID signs, and SIGNING_PUBLIC_KEYS (read from
 * KMS by the deploy-time custom resource) lists the keys every function
 * trusts and the JWKS publishes.
 */
import { generateKeyPairSync } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { KmsSigner } from '../../functions/adapters/aws/kms-signer.js';
import { publishedKeysOf } from '../../functions/adapters/aws/public-keys-resource.js';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import { startLocalServer } from '../../functions/adapters/local/server.js';
import { TOKEN_TTL_SECONDS } from '../../functions/config.js';
import { handler as jwks } from '../../functions/handlers/oidc-jwks.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { handler as usersGet } from '../../functions/handlers/users-get.js';
import type { Signer } from '../../functions/ports.js';
import { publishedKeysOnly } from '../../functions/published-keys.js';
import { installDeps } from '../../functions/runtime.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';

const oldKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** The signer of each configuration, as the stack deploys it. */
const phases = {
  before: () => new LocalSigner(oldKey),
  publishNext: () => new LocalSigner(oldKey, [newKey.publicKey]),
  signWithNext: () => new LocalSigner(newKey, [oldKey.publicKey]),
  retired: () => new LocalSigner(newKey),
};
type Phase = keyof typeof phases;

let t: TestContext;
let clientId: string;
let clientSecret: string;
const signers = new Map<Phase, Signer>();

/** Runs `fn` in a function deployed with `phase`'s configuration. */
async function inFunction<T>(phase: Phase, fn: () => Promise<T>): Promise<T> {
  installDeps({ ...t.deps, signer: signers.get(phase)! });
  return fn();
}

const issueToken = (phase: Phase) =>
  inFunction(phase, async () => (await invoke(oidcToken, { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } })).body.access_token as string);

/** 404 for the unknown user means the token was accepted; 401 means it was refused. */
const statusWith = (phase: Phase, token: string) => inFunction(phase, async () => (await invoke(usersGet, { token, params: { user_id: 'nobody' } })).status);

const kidsIn = (phase: Phase) => inFunction(phase, async () => ((await invoke(jwks)).body.keys as Array<{ kid: string }>).map((k) => k.kid).sort());

beforeEach(async () => {
  t = await createTestDeps();
  const created = await createTestClient(t.deps);
  clientId = created.client.client_id;
  clientSecret = created.secret;
  for (const [phase, make] of Object.entries(phases)) signers.set(phase as Phase, make());
});

/** Both configurations run at once during a deploy: each must accept the other's tokens. */
async function expectCompatible(a: Phase, b: Phase) {
  const fromA = await issueToken(a);
  const fromB = await issueToken(b);
  expect(await statusWith(b, fromA), `${a} token at a ${b} function`).toBe(404);
  expect(await statusWith(a, fromB), `${b} token at a ${a} function`).toBe(404);
}

describe('rotating the signing key in three deploys', () => {
  it('a one-step rotation would refuse new tokens at functions not yet updated (the outage the phases avoid)', async () => {
    const fromNew = await issueToken('retired');
    expect(await statusWith('before', fromNew)).toBe(401);
  });

  it('phase 1 publishes the next key everywhere while the old key still signs', async () => {
    await expectCompatible('before', 'publishNext');
    const [oldKid, newKid] = [await signers.get('before')!.currentKeyId(), await signers.get('retired')!.currentKeyId()];
    expect(await kidsIn('publishNext')).toEqual([oldKid, newKid].sort());
  });

  it('phase 2 signs with the next key; functions still on phase 1 already trust it, and tokens of the old key stay valid', async () => {
    await expectCompatible('publishNext', 'signWithNext');
    expect(await kidsIn('signWithNext')).toEqual(await kidsIn('publishNext'));
  });

  it('phase 3 retires the old key once its last tokens have expired', async () => {
    const lastOldToken = await issueToken('publishNext');
    await expectCompatible('signWithNext', 'retired');
    // The longest token lifetime later, nothing signed by the old key is alive to be refused.
    t.clock.advanceSeconds(TOKEN_TTL_SECONDS + 1);
    expect(await statusWith('signWithNext', lastOldToken)).toBe(401);
    await expectCompatible('signWithNext', 'retired');
    expect(await kidsIn('retired')).toEqual([await signers.get('retired')!.currentKeyId()]);
  });
});

describe('the local server through the three phases', () => {
  it('serves every phase\'s JWKS and accepts the neighbouring phases\' client tokens, restarted with each configuration', async () => {
    const tableName = `rotation-${Date.now()}`;
    const seedClient = { client_id: 'rotation', client_secret: 'rotation-secret', redirect_uris: [] };
    /** Starts the server with `phase`'s keys on the same store, runs `fn`, stops it. */
    async function withServer<T>(phase: Phase, fn: (url: string) => Promise<T>): Promise<T> {
      const server = await startLocalServer({ port: 0, issuer: 'http://twofold.rotation.test', dynamoEndpoint: inject('dynamoEndpoint'), tableName, signer: phases[phase](), seedClient, logger: { info() {}, warn() {}, error() {} } });
      try {
        return await fn(server.url);
      } finally {
        await server.close();
      }
    }
    const token = (url: string) =>
      fetch(`${url}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials&client_id=rotation&client_secret=rotation-secret' })
        .then((r) => r.json() as Promise<{ access_token: string }>)
        .then((b) => b.access_token);
    const accepted = (url: string, bearer: string) => fetch(`${url}/cis/v1/users/nobody`, { headers: { authorization: `Bearer ${bearer}` } }).then((r) => r.status === 404);
    const jwksSize = (url: string) => fetch(`${url}/cis/oidc/jwks`).then((r) => r.json() as Promise<{ keys: unknown[] }>).then((b) => b.keys.length);

    const order: Phase[] = ['before', 'publishNext', 'signWithNext', 'retired'];
    const tokens = new Map<Phase, string>();
    for (const phase of order) tokens.set(phase, await withServer(phase, token));
    // Neighbours run side by side during a deploy: each accepts the other's tokens.
    for (let i = 1; i < order.length; i++) {
      const [older, newer] = [order[i - 1]!, order[i]!];
      expect(await withServer(older, (url) => accepted(url, tokens.get(newer)!)), `${newer} token at ${older}`).toBe(true);
      expect(await withServer(newer, (url) => accepted(url, tokens.get(older)!)), `${older} token at ${newer}`).toBe(true);
    }
    expect(await withServer('publishNext', jwksSize)).toBe(2);
    expect(await withServer('signWithNext', jwksSize)).toBe(2);
    expect(await withServer('retired', jwksSize)).toBe(1);
  });
});

describe('as deployed: KMS signs, the keys every function trusts were read at deploy time', () => {
  const oldKms = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/old');
  const newKms = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/new');
  const byId = new Map([oldKms, newKms].map((key) => [key.keyId, key]));
  const kms = mockClient(KMSClient);
  /** Per phase: the key that signs (KMS_KEY_ID) and the keys the stack publishes, signing key first. */
  const stackConfig: Record<Phase, { keyId: string; published: string[] }> = {
    before: { keyId: oldKms.keyId, published: [oldKms.keyId] },
    publishNext: { keyId: oldKms.keyId, published: [oldKms.keyId, newKms.keyId] },
    signWithNext: { keyId: newKms.keyId, published: [newKms.keyId, oldKms.keyId] },
    retired: { keyId: newKms.keyId, published: [newKms.keyId] },
  };
  /** Each phase's two kinds of function: one that signs (KMS client) and one that only verifies (no KMS client). */
  const deployed = new Map<Phase, { signing: Signer; verifying: Signer }>();

  beforeEach(async () => {
    kms.reset();
    kms.on(GetPublicKeyCommand).callsFake(({ KeyId }: { KeyId: string }) => ({ KeyId, PublicKey: byId.get(KeyId)!.spki, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    kms.on(SignCommand).callsFake(({ KeyId, Message }: { KeyId: string; Message: Uint8Array }) => ({ KeyId, Signature: byId.get(KeyId)!.signDigest(Message) }));
    for (const [phase, { keyId, published }] of Object.entries(stackConfig)) {
      // What the custom resource puts in SIGNING_PUBLIC_KEYS at this phase's deploy.
      const keys = await publishedKeysOf(new KMSClient({ region: 'us-east-1' }), published);
      deployed.set(phase as Phase, { signing: new KmsSigner(new KMSClient({ region: 'us-east-1' }), { keyId, publicKeys: keys }), verifying: publishedKeysOnly(keys) });
    }
    kms.resetHistory();
  });

  const issueAt = async (phase: Phase) => {
    installDeps({ ...t.deps, signer: deployed.get(phase)!.signing });
    return (await invoke(oidcToken, { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret } })).body.access_token as string;
  };
  const statusAt = async (phase: Phase, token: string) => {
    installDeps({ ...t.deps, signer: deployed.get(phase)!.verifying });
    return (await invoke(usersGet, { token, params: { user_id: 'nobody' } })).status;
  };

  it('every pair of neighbouring phases accepts each other\'s tokens, and no request calls KMS but Sign', async () => {
    const order: Phase[] = ['before', 'publishNext', 'signWithNext', 'retired'];
    for (let i = 1; i < order.length; i++) {
      const [older, newer] = [order[i - 1]!, order[i]!];
      expect(await statusAt(older, await issueAt(newer)), `${newer} token at ${older}`).toBe(404);
      expect(await statusAt(newer, await issueAt(older)), `${older} token at ${newer}`).toBe(404);
    }
    expect(await statusAt('before', await issueAt('retired'))).toBe(401);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(0);
    expect(kms.commandCalls(SignCommand).map((call) => call.args[0].input.KeyId)).toEqual(
      [oldKms, oldKms, newKms, oldKms, newKms, newKms, newKms].map((key) => key.keyId),
    );
  });
});
