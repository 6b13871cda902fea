/**
 * The public metadata routes without the dependency wiring: in Lambda they
 * read ISSUER themselves, and a missing one is a 500 with no detail.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

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
