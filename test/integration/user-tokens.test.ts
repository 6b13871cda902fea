/**
 * The user access token as a credential: verified locally like a client
 * token, and refused the moment its session stops working.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { signJwt } from '../../functions/core/tokens.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { authenticateUserToken } from '../../functions/core/user-tokens.js';
import { authenticateClientToken } from '../../functions/core/clients.js';
import { endSession, logoutSession } from '../../functions/core/sessions.js';
import { keys, type ClientRecord, type UserRecord } from '../../functions/core/model.js';
import { modifyUser } from '../../functions/core/users.js';
import { UnauthorizedError } from '../../functions/errors.js';
import { createTestClient, createTestDeps, type TestContext } from '../support/harness.js';
import { seedAuthentication, seedUser } from '../support/seed.js';

let ctx: TestContext;
let client: ClientRecord;
let clientToken: string;
let user: UserRecord;

beforeEach(async () => {
  ctx = await createTestDeps();
  ({ client, token: clientToken } = await createTestClient(ctx.deps));
  user = await seedUser(ctx.deps, { email: 'ada@example.com' });
});

async function refused(token: string): Promise<string> {
  const error = await authenticateUserToken(ctx.deps, token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UnauthorizedError);
  expect((error as UnauthorizedError).code).toBe('unauthorized');
  return (error as UnauthorizedError).message;
}

describe('a user access token', () => {
  it('resolves to its client, live session and user', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    const principal = await authenticateUserToken(ctx.deps, tokens.access_token);
    expect(principal.client.client_id).toBe(client.client_id);
    expect(principal.user.user_id).toBe(user.user_id);
    expect(principal.record.value.session_id).toBe(tokens.session_id);
  });

  it('stops working at logout, before it expires', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await logoutSession(ctx.deps, client, tokens.session_id);
    expect(await refused(tokens.access_token)).toMatch(/session .*ended/);
  });

  it('stops working when its session is ended by refresh-token reuse', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await endSession(ctx.deps, tokens.session_id, 'refresh_token_reuse');
    await refused(tokens.access_token);
  });

  it('stops working when the session idles out, though the token itself has not expired', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await ctx.store.put(keys.client(client.client_id), { ...client, session_idle_timeout_seconds: 60 }, { expectVersion: 1 });
    const session = (await ctx.store.get<any>(keys.session(tokens.session_id)))!;
    await ctx.store.put(keys.session(tokens.session_id), { ...session.value, idle_timeout_seconds: 60 }, { expectVersion: session.version });
    ctx.clock.advanceSeconds(59);
    await authenticateUserToken(ctx.deps, tokens.access_token);
    ctx.clock.advanceSeconds(1);
    await refused(tokens.access_token);
  });

  it('stops working when its user is disabled, and works again once re-enabled', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await modifyUser(ctx.deps, user.user_id, (u) => ({ ...u, status: 'Disabled' }));
    await refused(tokens.access_token);
    await modifyUser(ctx.deps, user.user_id, (u) => ({ ...u, status: 'Active' }));
    await authenticateUserToken(ctx.deps, tokens.access_token);
  });

  it('stops working when its user is deleted', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await ctx.store.delete(keys.user(user.user_id));
    await refused(tokens.access_token);
  });

  it('expires with its exp', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    ctx.clock.advanceSeconds(3600);
    expect(await refused(tokens.access_token)).toMatch(/expired/);
  });

  it('is never accepted as a client token, nor a client token as a user token', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await expect(authenticateClientToken(ctx.deps, tokens.access_token)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await refused(clientToken)).toMatch(/not a user access token/);
  });

  it('an ID token is not an access token', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    await refused(tokens.id_token);
  });

  it('is refused when its MAC is made with another key, even with our kid, or with a key version the service does not hold', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    const [headerPart, payloadPart] = tokens.access_token.split('.');
    const header = JSON.parse(Buffer.from(headerPart!, 'base64url').toString());
    const payload = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString());
    const forged = await new SignJWT(payload).setProtectedHeader(header).sign(randomBytes(32));
    expect(await refused(forged)).toMatch(/not signed by this service/);
    const unknownVersion = await new SignJWT(payload).setProtectedHeader({ ...header, kid: '2' }).sign(randomBytes(32));
    expect(await refused(unknownVersion)).toMatch(/not signed by this service/);
    // The raw key version, not the key derived for user access tokens: still not ours.
    const rawKey = await new SignJWT(payload).setProtectedHeader(header).sign(ctx.deps.userTokenKeys.keys['1']!);
    expect(await refused(rawKey)).toMatch(/not signed by this service/);
  });

  it('is refused when any claim is changed: another session, user or client', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    const [headerPart, payloadPart, mac] = tokens.access_token.split('.');
    const payload = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString());
    for (const changed of [{ sid: 'other~session' }, { sub: 'someone-else' }, { client_id: 'other', aud: 'other' }, { exp: payload.exp + 3600 }]) {
      const tampered = `${headerPart}.${Buffer.from(JSON.stringify({ ...payload, ...changed })).toString('base64url')}.${mac}`;
      expect(await refused(tampered), JSON.stringify(changed)).toMatch(/not signed by this service/);
    }
  });

  it('is refused with alg none, as ES256 signed by our own signing key, or HS256 keyed with the public key', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    const [headerPart, payloadPart] = tokens.access_token.split('.');
    const header = JSON.parse(Buffer.from(headerPart!, 'base64url').toString());
    const none = `${Buffer.from(JSON.stringify({ ...header, alg: 'none' })).toString('base64url')}.${payloadPart}.`;
    expect(await refused(none)).toMatch(/not a user access token/);
    const payload = JSON.parse(Buffer.from(payloadPart!, 'base64url').toString());
    // Our own KMS key's signature, under the user token's header and claims: the wrong algorithm for a user token.
    const es256 = await signJwt(ctx.deps.signer, 'at+jwt', payload);
    const es256UserTyp = `${Buffer.from(JSON.stringify({ ...header, alg: 'ES256', kid: await ctx.deps.signer.currentKeyId() })).toString('base64url')}.${payloadPart}.${es256.split('.')[2]}`;
    await refused(es256);
    await refused(es256UserTyp);
    const publicJwk = (await ctx.deps.signer.publicKeys())[0]!;
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const hs = await new SignJWT(payload).setProtectedHeader({ ...header, kid: publicJwk.kid }).sign(secret);
    expect(await refused(hs)).toMatch(/not signed by this service/);
  });

  it('works under every key version in use: minted under the previous one, it passes while that version is listed', async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    const old = ctx.deps.userTokenKeys;
    // A rotation's second phase: version 2 mints, version 1 still verifies.
    ctx.deps.userTokenKeys = { current: '2', keys: { '2': randomBytes(32), '1': old.keys['1']! } };
    expect((await authenticateUserToken(ctx.deps, tokens.access_token)).record.value.session_id).toBe(tokens.session_id);
    const fresh = await seedAuthentication(ctx.deps, client, user, 'pwd');
    expect(decodeProtectedHeader(fresh.access_token).kid).toBe('2');
    await authenticateUserToken(ctx.deps, fresh.access_token);
    // The last phase: version 1 retired, its tokens stop.
    ctx.deps.userTokenKeys = { current: '2', keys: { '2': ctx.deps.userTokenKeys.keys['2']! } };
    expect(await refused(tokens.access_token)).toMatch(/not signed by this service/);
    await authenticateUserToken(ctx.deps, fresh.access_token);
  });

  it("is refused once its client is deleted, and never reaches another client's session", async () => {
    const tokens = await seedAuthentication(ctx.deps, client, user, 'pwd');
    const other = await createTestClient(ctx.deps);
    const otherTokens = await seedAuthentication(ctx.deps, other.client, user, 'pwd');
    expect((await authenticateUserToken(ctx.deps, otherTokens.access_token)).client.client_id).toBe(other.client.client_id);
    await ctx.store.delete(keys.client(client.client_id));
    expect(await refused(tokens.access_token)).toMatch(/client .*no longer exists/);
  });
});
