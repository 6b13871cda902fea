/**
 * Every route that needs a client access token refuses every token that is not
 * one of ours, for a live client, right now (contract section 1): 401 with
 * the contract's error body, and nothing read past the token or written.
 * The routes come from the route table, so a new route is attacked too.
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import { base64url, randomId } from '../../functions/core/crypto.js';
import { apiAudience } from '../../functions/core/deps.js';
import { keys, toEpochSeconds } from '../../functions/core/model.js';
import { issueClientToken, signJwt } from '../../functions/core/tokens.js';
import type { Signer, Store } from '../../functions/ports.js';
import { routes } from '../../functions/routes.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';
import { proxyStore } from '../support/store-proxy.js';

const clientRoutes = routes.filter((route) => route.auth === 'client');

let t: TestContext;
let clientId: string;
let genuine: string;
/** Attack name -> the Authorization header it sends (undefined: none). */
const attacks: Array<[string, string | undefined]> = [];
let writes: string[];

const encode = (value: unknown) => base64url(Buffer.from(JSON.stringify(value), 'utf8'));

/** A compact JWS with any header, signed by `signer` over exactly that header. */
async function signWithHeader(signer: Signer, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${base64url(await signer.sign(Buffer.from(input, 'ascii')))}`;
}

beforeAll(async () => {
  t = await createTestDeps();
  const { client, token } = await createTestClient(t.deps);
  clientId = client.client_id;
  genuine = token;
  const now = toEpochSeconds(t.clock.now());
  const kid = await t.deps.signer.currentKeyId();
  const claims = { iss: t.deps.settings.issuer, sub: clientId, aud: apiAudience(t.deps.settings), client_id: clientId, scope: 'cis', jti: randomId(), iat: now, exp: now + 3600 };
  const header = { alg: 'ES256', kid, typ: 'at+jwt' };
  const [h, p, s] = token.split('.') as [string, string, string];

  // The real public key as an HMAC secret, in each form a confused verifier might use.
  const [jwk] = await t.deps.signer.publicKeys();
  const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  const hs256 = (secret: string | Buffer) => {
    const input = `${encode({ alg: 'HS256', kid, typ: 'at+jwt' })}.${encode(claims)}`;
    return `${input}.${base64url(createHmac('sha256', secret).update(input).digest())}`;
  };

  const other = new LocalSigner();
  const { token: deletedClientToken, client: deleted } = await createTestClient(t.deps);
  await t.deps.store.delete(keys.client(deleted.client_id));
  const user = await seedUser(t.deps, { email: 'ada@example.com' });
  const session = await seedAuthentication(t.deps, client, user, 'pwd');

  const bearer = (jwt: string) => `Bearer ${jwt}`;
  attacks.push(
    ['no Authorization header', undefined],
    ['an empty Bearer', 'Bearer '],
    ['a Basic credential', `Basic ${Buffer.from(`${clientId}:secret`).toString('base64')}`],
    ['a token that is not a JWT', 'Bearer not-a-jwt'],
    ['three empty segments', 'Bearer ..'],
    ['a JWT with a header that is not JSON', bearer(`${base64url(Buffer.from('{oops'))}.${p}.${s}`)],
    ['the real token with a flipped signature bit', bearer(`${h}.${p}.${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`)],
    ['the real signature over changed claims', bearer(`${h}.${encode({ ...claims, client_id: 'someone-else', sub: 'someone-else' })}.${s}`)],
    ['alg none without a signature', bearer(`${encode({ alg: 'none', typ: 'at+jwt' })}.${encode(claims)}.`)],
    ['alg none with the kid and a signature', bearer(`${encode({ alg: 'none', kid, typ: 'at+jwt' })}.${encode(claims)}.${s}`)],
    ['HS256 keyed with the public key PEM', bearer(hs256(pem))],
    ['HS256 keyed with the public JWK', bearer(hs256(JSON.stringify(jwk)))],
    ['HS256 keyed with the public key x coordinate', bearer(hs256(Buffer.from(jwk!.x!, 'base64url')))],
    ['ES384 in the header over an ES256 signature', bearer(await signWithHeader(t.deps.signer, { ...header, alg: 'ES384' }, claims))],
    ['a wrong iss', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, iss: 'https://evil.example' }))],
    ['a wrong aud', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, aud: clientId }))],
    ['no aud', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, aud: undefined }))],
    ['typ JWT', bearer(await signJwt(t.deps.signer, 'JWT', claims))],
    ['no typ', bearer(await signWithHeader(t.deps.signer, { alg: 'ES256', kid }, claims))],
    ['expired a second ago', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, iat: now - 3601, exp: now - 1 }))],
    ['expiring this very second', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, iat: now - 3600, exp: now }))],
    ['no exp', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, exp: undefined }))],
    ['not valid before a future nbf', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, nbf: now + 60 }))],
    ['an unknown kid', bearer(await signWithHeader(t.deps.signer, { ...header, kid: 'no-such-key' }, claims))],
    ['signed by another key', bearer(await signJwt(other, 'at+jwt', claims))],
    ['signed by another key under our kid', bearer(await signWithHeader(other, header, claims))],
    ['an ID token', bearer(session.id_token)],
    ['a user access token', bearer(session.access_token)],
    ['a refresh token', bearer(session.refresh_token)],
    ['a client token without client_id', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, client_id: undefined }))],
    ['a client token whose sub is another client', bearer(await signJwt(t.deps.signer, 'at+jwt', { ...claims, sub: 'c_other' }))],
    ['the token of a deleted client', bearer(deletedClientToken)],
    ['the token of a client that never existed', bearer((await issueClientToken(t.deps, { ...client, client_id: 'c_never' })).access_token)],
  );

  writes = [];
  const store = t.deps.store;
  const recording: Store = proxyStore(store, (op, key) => {
    if (op !== 'get' && op !== 'getMany' && op !== 'getAttempts') writes.push(key);
  });
  t.deps.store = recording;
});

describe.each(clientRoutes.map((route) => [`${route.method} ${route.path}`, route] as const))('%s', (_, route) => {
  it('refuses every forged, foreign, expired or wrong-kind token with 401 and writes nothing', async () => {
    const { handler } = (await import(`../../functions/handlers/${route.name}.ts`)) as { handler: Parameters<typeof invoke>[0] };
    const params = { user_id: 'u_1', username: 'ada', email: 'ada@example.com', phone_number: '+15551234567' };
    const body = { session_id: 'x', refresh_token: 'x', passcode: '123456', identifier_type: 'email', identifier: 'ada@example.com' };
    expect(attacks.length).toBeGreaterThan(30);
    for (const [attack, authorization] of attacks) {
      writes.length = 0;
      const res = await invoke(handler, { params, body, headers: authorization === undefined ? {} : { authorization } });
      expect([attack, res.status], attack).toEqual([attack, 401]);
      expect(res.body, attack).toEqual({ error_code: 'unauthorized', message: expect.any(String) });
      expect(res.headers['WWW-Authenticate'], attack).toBe('Bearer');
      expect(writes, attack).toEqual([]);
    }
  });
});

describe('the attacks are attacks on the token only', () => {
  it('the genuine token of the same client is accepted by the same route', async () => {
    const { handler } = await import('../../functions/handlers/users-get.js');
    const res = await invoke(handler, { token: genuine, params: { user_id: 'u_1' } });
    expect(res.status).toBe(404);
  });
});
