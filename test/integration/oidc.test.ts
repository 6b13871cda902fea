import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import { signJwt } from '../../functions/core/tokens.js';
import { handler as discovery } from '../../functions/handlers/oidc-discovery.js';
import { handler as jwks } from '../../functions/handlers/oidc-jwks.js';
import { handler as openapi } from '../../functions/handlers/openapi.js';
import { handler as token } from '../../functions/handlers/oidc-token.js';
import { handler as sessionAuthenticate } from '../../functions/handlers/auth-session.js';
import { routes } from '../../functions/routes.js';
import { createTestClient, createTestDeps, invoke, type TestContext } from '../support/harness.js';

let t: TestContext;
let clientId: string;
let secret: string;

beforeEach(async () => {
  t = await createTestDeps();
  const created = await createTestClient(t.deps);
  clientId = created.client.client_id;
  secret = created.secret;
});

const form = (fields: Record<string, string>) => ({
  rawBody: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});

describe('POST /oidc/token (client credentials)', () => {
  it('issues a client access token (at+jwt) from a form body', async () => {
    const res = await invoke(token, form({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'cis' });
    const keys = createLocalJWKSet({ keys: await t.deps.signer.publicKeys() });
    const { payload, protectedHeader } = await jwtVerify(res.body.access_token, keys, {
      typ: 'at+jwt',
      issuer: t.deps.settings.issuer,
      audience: `${t.deps.settings.issuer}/cis`,
      currentDate: new Date(t.clock.now()),
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: clientId, client_id: clientId });
  });

  it('accepts JSON and HTTP Basic too, and ignores resource', async () => {
    const json = await invoke(token, { body: { grant_type: 'client_credentials', client_id: clientId, client_secret: secret, resource: 'https://x' } });
    expect(json.status).toBe(200);
    const basic = await invoke(token, {
      ...form({ grant_type: 'client_credentials' }),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
      },
    });
    expect(basic.status).toBe(200);
  });

  it('answers 401 invalid_client in the OAuth form for a wrong secret or unknown client', async () => {
    for (const fields of <Array<Record<string, string>>>[
      { grant_type: 'client_credentials', client_id: clientId, client_secret: 'wrong' },
      { grant_type: 'client_credentials', client_id: 'nobody', client_secret: secret },
      { grant_type: 'client_credentials', client_id: clientId },
    ]) {
      const res = await invoke(token, form(fields));
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
      expect(JSON.stringify(res.body)).not.toContain(secret);
    }
  });

  it('refuses other grant types with unsupported_grant_type', async () => {
    const res = await invoke(token, form({ grant_type: 'password', client_id: clientId, client_secret: secret }));
    expect(res).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
  });

  it('answers 400 system_invalid_input for malformed bodies', async () => {
    expect((await invoke(token, { rawBody: '{not json' })).body.error_code).toBe('system_invalid_input');
    expect((await invoke(token, { body: { grant_type: 5 } })).body.error_code).toBe('system_invalid_input');
    expect((await invoke(token, { rawBody: JSON.stringify({ grant_type: 'x'.repeat(17 * 1024) }) })).body.error_code).toBe('system_invalid_input');
  });
});

describe('client access tokens guard every /cis/v1 call', () => {
  const call = (authorization?: string) =>
    invoke(sessionAuthenticate, { body: { session_id: 's' }, headers: authorization ? { authorization } : {} });

  it('401 without a token, with a malformed one, or another scheme', async () => {
    for (const header of [undefined, 'Bearer', 'Bearer not.a.jwt', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const res = await call(header);
      expect(res.status).toBe(401);
      expect(res.body.error_code).toBe('unauthorized');
    }
  });

  it('401 for an expired token', async () => {
    const { token: good } = await createTestClient(t.deps, { name: 'x' });
    t.clock.advanceSeconds(3601);
    const res = await call(`Bearer ${good}`);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/expired/);
  });

  it('401 for a token signed by another key, even with the right claims', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    const claims = { iss: t.deps.settings.issuer, sub: clientId, aud: `${t.deps.settings.issuer}/cis`, client_id: clientId, iat: now, exp: now + 60 };
    const foreign = await signJwt(new LocalSigner(), 'at+jwt', claims);
    expect((await call(`Bearer ${foreign}`)).status).toBe(401);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = decodeProtectedHeader(await signJwt(t.deps.signer, 'at+jwt', claims)).kid!;
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid }).sign(privateKey);
    expect((await call(`Bearer ${forged}`)).status).toBe(401);
  });

  it('401 for an unsigned (alg none) token', async () => {
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(t.clock.now() / 1000);
    const none = `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc({ iss: t.deps.settings.issuer, sub: clientId, aud: `${t.deps.settings.issuer}/cis`, client_id: clientId, iat: now, exp: now + 60 })}.`;
    expect((await call(`Bearer ${none}`)).status).toBe(401);
  });

  it("401 for a user's access token or an ID token used as a client token", async () => {
    const now = Math.floor(t.clock.now() / 1000);
    const userAccess = await signJwt(t.deps.signer, 'at+jwt', { iss: t.deps.settings.issuer, sub: 'user1', aud: clientId, client_id: clientId, sid: 's', iat: now, exp: now + 60 });
    expect((await call(`Bearer ${userAccess}`)).status).toBe(401);
    const idToken = await signJwt(t.deps.signer, 'JWT', { iss: t.deps.settings.issuer, sub: clientId, aud: `${t.deps.settings.issuer}/cis`, client_id: clientId, iat: now, exp: now + 60 });
    expect((await call(`Bearer ${idToken}`)).status).toBe(401);
  });

  it('401 for a token of a client that no longer exists, without leaking the secret', async () => {
    const now = Math.floor(t.clock.now() / 1000);
    const ghost = await signJwt(t.deps.signer, 'at+jwt', { iss: t.deps.settings.issuer, sub: 'ghost', aud: `${t.deps.settings.issuer}/cis`, client_id: 'ghost', iat: now, exp: now + 60 });
    const res = await call(`Bearer ${ghost}`);
    expect(res.status).toBe(401);
    expect(res.headers['WWW-Authenticate']).toBe('Bearer');
  });
});

describe('public metadata', () => {
  it('GET /cis/oidc/jwks lists the public signing key (no private part)', async () => {
    const res = await invoke(jwks);
    expect(res.status).toBe(200);
    expect(res.body.keys).toHaveLength(1);
    expect(res.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(res.body.keys[0]).not.toHaveProperty('d');
  });

  it('GET /cis/oidc/.well-known/openid-configuration names the issuer, JWKS and ES256, and every field OpenID Connect Discovery requires of a provider without an authorization endpoint', async () => {
    const res = await invoke(discovery);
    expect(res.body).toMatchObject({
      issuer: t.deps.settings.issuer,
      jwks_uri: `${t.deps.settings.issuer}/cis/oidc/jwks`,
      token_endpoint: `${t.deps.settings.issuer}/oidc/token`,
      id_token_signing_alg_values_supported: ['ES256'],
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
    });
    expect(res.body.authorization_endpoint).toBeUndefined();
  });

  it('GET /cis/openapi.json documents every route of the route table with its schemas', async () => {
    const res = await invoke(openapi);
    expect(res.body.openapi).toBe('3.1.0');
    for (const route of routes) {
      const op = res.body.paths[route.path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      if (route.body) expect(op.requestBody.content['application/json'].schema).toBeDefined();
      if (route.auth === 'client') expect(op.responses['401']).toBeDefined();
    }
    const password = res.body.components.schemas.PasswordAuthenticateRequest;
    expect(password.required).toEqual(['username', 'password']);
    expect(res.body.components.schemas.Error.required).toEqual(['error_code', 'message']);
  });
});
