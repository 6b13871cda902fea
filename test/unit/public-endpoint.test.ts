/**
 * The public metadata routes without the dependency wiring: in Lambda they
 * read ISSUER (discovery, OpenAPI) or SIGNING_PUBLIC_KEYS (JWKS) themselves,
 * and a missing one is a 500 with no detail.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { jwkFromSpki } from '../../functions/published-keys.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';

const event = {} as APIGatewayProxyEventV2;

beforeEach(() => vi.resetModules()); // a fresh process: nothing installed
afterEach(() => vi.unstubAllEnvs());

describe('discovery and OpenAPI in Lambda', () => {
  it('serve the issuer from ISSUER, without a trailing slash', async () => {
    vi.stubEnv('ISSUER', 'https://auth.example.com/');
    const { handler } = await import('../../functions/handlers/oidc-discovery-well-known.js');
    const res = await handler(event);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' });
    expect(JSON.parse(res.body!)).toMatchObject({ issuer: 'https://auth.example.com', jwks_uri: 'https://auth.example.com/cis/oidc/jwks' });
  });

  it('serve the committed OpenAPI document with this deployment as its server', async () => {
    vi.stubEnv('ISSUER', 'https://auth.example.com');
    const { handler } = await import('../../functions/handlers/openapi.js');
    const body = JSON.parse((await handler(event)).body!);
    expect(body.openapi).toBe('3.1.0');
    expect(body.servers).toEqual([{ url: 'https://auth.example.com' }]);
  });

  it('answer a bare 500 when ISSUER is missing, the reason only in the log', async () => {
    vi.stubEnv('ISSUER', '');
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { handler } = await import('../../functions/handlers/oidc-discovery.js');
    const res = await handler(event);
    expect(res.statusCode).toBe(500);
    expect(JSON.parse(res.body!)).toEqual({ error_code: 'internal_error', message: 'Internal error' });
    expect(logged.mock.calls[0]![0]).toContain('ISSUER');
    logged.mockRestore();
  });
});

describe('the JWKS in Lambda', () => {
  const current = jwkFromSpki(new FakeKmsKey('current').spki);
  const previous = jwkFromSpki(new FakeKmsKey('previous').spki);

  it('serves the public keys the deploy put in SIGNING_PUBLIC_KEYS, in their order, without any AWS client', async () => {
    vi.stubEnv('SIGNING_PUBLIC_KEYS', JSON.stringify([current, previous]));
    const { handler } = await import('../../functions/handlers/oidc-jwks.js');
    const res = await handler(event);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=300' });
    expect(JSON.parse(res.body!)).toEqual({ keys: [current, previous] });
    expect(current).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(current).not.toHaveProperty('d');
  });

  it('answers a bare 500 when the keys are missing or not what a deploy puts in, the reason only in the log', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    for (const keys of ['', JSON.stringify([{ ...current, kid: 'forged' }])]) {
      vi.resetModules();
      vi.stubEnv('SIGNING_PUBLIC_KEYS', keys);
      const { handler } = await import('../../functions/handlers/oidc-jwks.js');
      const res = await handler(event);
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body!)).toEqual({ error_code: 'internal_error', message: 'Internal error' });
      expect(logged.mock.lastCall![0]).toContain('SIGNING_PUBLIC_KEYS');
    }
    logged.mockRestore();
  });
});
