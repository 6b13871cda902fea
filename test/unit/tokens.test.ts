import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { LocalSigner } from '../../functions/adapters/local/local-signer.js';
import type { Deps } from '../../functions/core/deps.js';
import type { ClientRecord, SessionRecord, UserRecord } from '../../functions/core/model.js';
import { KMS_SIGNS_PER_TOKEN_RESPONSE, signJwt, signSessionTokens } from '../../functions/core/tokens.js';
import { USER_ACCESS_TOKEN_TYP, verifyUserAccessToken } from '../../functions/core/user-access-tokens.js';
import { newUserRecord } from '../../functions/core/users.js';

const NOW = Date.UTC(2026, 5, 1, 9, 30, 0);
const signer = new LocalSigner();
const deps = {
  signer,
  userTokenKeys: { current: '1', keys: { '1': new Uint8Array(32).fill(7) } },
  clock: { now: () => NOW },
  settings: { issuer: 'https://auth.example', appName: 'Twofold', tokenTtlSeconds: 3600, scrypt: { N: 2, r: 1, p: 1 } },
} as unknown as Deps;
const client = { client_id: 'shop', mfa_policy: 'factor_classes' } as ClientRecord;

function session(methods: Array<[SessionRecord['authentications'][number]['method'], number]>): SessionRecord {
  return {
    session_id: 'sess-1',
    client_id: 'shop',
    user_id: 'user-1',
    authentications: methods.map(([method, at]) => ({ method, at })),
    created_at: NOW - 60_000,
    last_active_at: NOW,
    idle_timeout_seconds: 86_400,
    absolute_lifetime_seconds: 1_209_600,
    refresh_token_hashes: [],
    retired_refresh_token_hashes: [],
  };
}

describe('session tokens', () => {
  it('the ID token carries exactly the contract claims', async () => {
    const user: UserRecord = { ...newUserRecord('user-1', NOW), email: 'ada@example.com', email_verified: true };
    const { id_token, expires_in } = await signSessionTokens(deps, client, user, session([['pwd', NOW - 50_000], ['sms', NOW - 5_000]]));
    expect(expires_in).toBe(3600);
    expect(decodeJwt(id_token)).toEqual({
      iss: 'https://auth.example',
      sub: 'user-1',
      aud: 'shop',
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
      auth_time: (NOW - 5_000) / 1000,
      sid: 'sess-1',
      amr: ['pwd', 'sms', 'mfa'],
      amr_at: { pwd: (NOW - 50_000) / 1000, sms: (NOW - 5_000) / 1000 },
      email: 'ada@example.com',
      email_verified: true,
    });
    expect(decodeProtectedHeader(id_token)).toEqual({ alg: 'ES256', kid: await signer.currentKeyId(), typ: 'JWT' });
  });

  it('contact claims appear only for contacts the user has', async () => {
    const user: UserRecord = { ...newUserRecord('user-1', NOW), phone_number: '+15551234567' };
    const claims = decodeJwt((await signSessionTokens(deps, client, user, session([['sms', NOW]]))).id_token);
    expect(claims).toMatchObject({ phone_number: '+15551234567', phone_number_verified: false, amr: ['sms'] });
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('email_verified');
  });

  it('the access token is an HS256 JWT of its own typ, under the current user-token key, for the client with sid and a unique jti', async () => {
    const user = newUserRecord('user-1', NOW);
    const first = await signSessionTokens(deps, client, user, session([['pwd', NOW]]));
    const second = await signSessionTokens(deps, client, user, session([['pwd', NOW]]));
    expect(decodeProtectedHeader(first.access_token)).toEqual({ alg: 'HS256', kid: '1', typ: USER_ACCESS_TOKEN_TYP });
    const claims = decodeJwt(first.access_token);
    expect(claims).toMatchObject({ iss: 'https://auth.example', sub: 'user-1', aud: 'shop', client_id: 'shop', sid: 'sess-1', iat: NOW / 1000, exp: NOW / 1000 + 3600 });
    expect(claims.jti).not.toBe(decodeJwt(second.access_token).jti);
    expect(await verifyUserAccessToken(deps, first.access_token)).toEqual({ clientId: 'shop', userId: 'user-1', sessionId: 'sess-1' });
  });

  it('a token response costs one signature: the ID token is signed, the access token is not', async () => {
    let signs = 0;
    const counting = { ...deps, signer: { currentKeyId: () => signer.currentKeyId(), publicKeys: () => signer.publicKeys(), sign: (input: Uint8Array) => (signs++, signer.sign(input)) } } as Deps;
    await signSessionTokens(counting, client, newUserRecord('user-1', NOW), session([['pwd', NOW]]));
    expect(signs).toBe(KMS_SIGNS_PER_TOKEN_RESPONSE);
    expect(KMS_SIGNS_PER_TOKEN_RESPONSE).toBe(1);
  });

  it('the looser client policy counts two methods of one class as MFA', async () => {
    const loose = { ...client, mfa_policy: 'distinct_methods' } as ClientRecord;
    const claims = decodeJwt((await signSessionTokens(deps, loose, newUserRecord('user-1', NOW), session([['eotp', NOW], ['eml', NOW]]))).id_token);
    expect(claims.amr).toEqual(['eotp', 'eml', 'mfa']);
  });
});

describe('signJwt', () => {
  it('produces a compact JWS that jose verifies against the published key', async () => {
    const token = await signJwt(signer, 'JWT', { hello: 'world' });
    const { payload } = await jwtVerify(token, createLocalJWKSet({ keys: await signer.publicKeys() }), { algorithms: ['ES256'] });
    expect(payload).toEqual({ hello: 'world' });
  });

  it('refuses a signer that does not return a 64-byte r||s signature', async () => {
    const der = { ...signer, currentKeyId: () => signer.currentKeyId(), publicKeys: () => signer.publicKeys(), sign: async () => new Uint8Array(70) };
    await expect(signJwt(der, 'JWT', {})).rejects.toThrow(/64/);
  });
});
