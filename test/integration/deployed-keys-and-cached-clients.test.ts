/**
 * Two shortcuts of the token checks, attacked: a function that only verifies
 * trusts exactly the keys in SIGNING_PUBLIC_KEYS (whatever a token's header
 * names or carries), and the per-instance client cache never reaches the
 * client-secret exchange (a deleted client or a replaced secret is refused
 * there at once, however recently the record was cached).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import { authenticateClientToken } from '../../functions/core/clients.js';
import { base64url, sha256 } from '../../functions/core/crypto.js';
import { apiAudience } from '../../functions/core/deps.js';
import { keys, toEpochSeconds, type ClientRecord } from '../../functions/core/model.js';
import { signJwt } from '../../functions/core/tokens.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { handler as usersGet } from '../../functions/handlers/users-get.js';
import { parsePublishedKeys, publishedKeysOnly } from '../../functions/published-keys.js';
import { installDeps } from '../../functions/runtime.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';

let t: TestContext;
let client: ClientRecord;
let secret: string;
let token: string;

beforeEach(async () => {
  t = await createTestDeps();
  ({ client, secret, token } = await createTestClient(t.deps));
});

describe('a function that only verifies, with the keys of SIGNING_PUBLIC_KEYS', () => {
  const encode = (value: unknown) => base64url(Buffer.from(JSON.stringify(value), 'utf8'));

  it('refuses a token signed by any other key, under the published kid, its own kid, or with the key embedded', async () => {
    // The environment as deployed: the signing key's public half, JSON.
    const verifying = publishedKeysOnly(parsePublishedKeys(JSON.stringify(await t.deps.signer.publicKeys())));
    const kid = await t.deps.signer.currentKeyId();
    const attacker = new LocalSigner();
    const [attackerJwk] = await attacker.publicKeys();
    const now = toEpochSeconds(t.clock.now());
    const claims = { iss: t.deps.settings.issuer, aud: apiAudience(t.deps.settings), sub: client.client_id, client_id: client.client_id, iat: now, exp: now + 3600, jti: 'x' };
    const signed = async (header: Record<string, unknown>) => {
      const input = `${encode(header)}.${encode(claims)}`;
      return `${input}.${base64url(await attacker.sign(Buffer.from(input, 'ascii')))}`;
    };
    const forged = [
      await signed({ alg: 'ES256', typ: 'at+jwt', kid }),
      await signed({ alg: 'ES256', typ: 'at+jwt', kid: attackerJwk!.kid }),
      await signed({ alg: 'ES256', typ: 'at+jwt', jwk: { kty: 'EC', crv: 'P-256', x: attackerJwk!.x, y: attackerJwk!.y } }),
      await signed({ alg: 'ES256', typ: 'at+jwt', kid, jwk: { kty: 'EC', crv: 'P-256', x: attackerJwk!.x, y: attackerJwk!.y } }),
      await signJwt(attacker, 'at+jwt', claims),
    ];
    // The same claims under the deployed key: what makes the forgeries fail is the key alone.
    const control = await signJwt(t.deps.signer, 'at+jwt', claims);
    installDeps({ ...t.deps, signer: verifying });
    for (const jwt of forged) expect((await invoke(usersGet, { token: jwt, params: { user_id: 'nobody' } })).status).toBe(401);
    // The genuine token of the deployed key passes the same function (404: no such user).
    expect((await invoke(usersGet, { token: control, params: { user_id: 'nobody' } })).status).toBe(404);
    expect((await invoke(usersGet, { token, params: { user_id: 'nobody' } })).status).toBe(404);
  });
});

describe('the client-secret exchange, next to the client cache', () => {
  const exchange = (client_secret: string) => invoke(oidcToken, { body: { grant_type: 'client_credentials', client_id: client.client_id, client_secret } });

  it('refuses a client deleted elsewhere at once, while its cached record still serves tokens', async () => {
    await authenticateClientToken(t.deps, token);
    await t.store.delete(keys.client(client.client_id));
    expect((await exchange(secret)).status).toBe(401);
  });

  it('refuses a secret replaced elsewhere at once, and accepts the new one', async () => {
    await authenticateClientToken(t.deps, token);
    expect((await exchange(secret)).status).toBe(200);
    const stored = (await t.store.get<ClientRecord>(keys.client(client.client_id)))!;
    await t.store.put(keys.client(client.client_id), { ...stored.value, secret_hash: sha256('the new secret') }, { expectVersion: stored.version });
    expect((await exchange(secret)).status).toBe(401);
    expect((await exchange('the new secret')).status).toBe(200);
  });
});
