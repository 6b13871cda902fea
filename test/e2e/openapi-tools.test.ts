/**
 * The served OpenAPI document is one that tools accept: an OpenAPI 3.1
 * validator resolves every reference in it, openapi-typescript generates
 * types from it (the committed docs/openapi-types.d.ts), and the README's
 * typed-client snippet (examples/typed-client.ts) compiles against those
 * types and runs against the local server.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPENAPI_TYPES_PATH, openApiTypes } from '../../bin/openapi.js';
import { signUpAndLogIn } from '../../examples/typed-client.js';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { routes } from '../../functions/routes.js';
import { TEST_SCRYPT } from '../support/harness.js';

const EXAMPLE = new URL('../../examples/typed-client.ts', import.meta.url);

let server: LocalServer;
let served: { openapi: string; paths: Record<string, Record<string, unknown>> };

beforeAll(async () => {
  server = await startLocalServer({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `openapi-${Date.now()}`,
    logger: jsonLogger('silent'),
    settings: { scrypt: TEST_SCRYPT },
  });
  const res = await fetch(`${server.url}/cis/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  served = (await res.json()) as typeof served;
});

afterAll(async () => {
  await server?.close();
});

async function clientToken(): Promise<string> {
  const res = await fetch(`${server.url}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&client_id=local-client&client_secret=local-secret',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('GET /cis/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document whose every $ref resolves', async () => {
    expect(served.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served));
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(() => validator.resolveRefs()).not.toThrow();
    const refs = JSON.stringify(served).match(/"\$ref":"[^"]*"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toMatch(/^"\$ref":"#\/components\/schemas\/\w+"$/);
  });

  it('generates TypeScript types with openapi-typescript, the same as the committed docs/openapi-types.d.ts', async () => {
    const types = await openApiTypes(served);
    for (const route of routes) {
      expect(types).toContain(`"${route.path}": {`);
      expect(types).toContain(`${route.method.toLowerCase()}: operations["${route.name}"];`);
    }
    expect(types, 'run `npm run openapi` after changing a route or schema').toBe(readFileSync(OPENAPI_TYPES_PATH, 'utf8'));
  });
});

describe("the README's typed client", () => {
  it('is quoted verbatim by the README', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`ts\n${readFileSync(EXAMPLE, 'utf8')}\`\`\``);
  });

  it('compiles against the generated types', () => {
    const configPath = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));
    const config = ts.parseJsonConfigFileContent(ts.readConfigFile(configPath, ts.sys.readFile).config, ts.sys, fileURLToPath(new URL('../..', import.meta.url)));
    const program = ts.createProgram([fileURLToPath(EXAMPLE)], config.options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diagnostics).toEqual([]);
  });

  it('creates a user and logs them in against the local server', async () => {
    const { userId, sessionId, idToken } = await signUpAndLogIn(server.url, await clientToken(), 'typed');
    expect(sessionId).toEqual(expect.any(String));
    const jwks = createRemoteJWKSet(new URL(`${server.url}/cis/oidc/jwks`));
    const { payload } = await jwtVerify(idToken, jwks, { algorithms: ['ES256'], issuer: server.url, audience: 'local-client', typ: 'JWT' });
    expect(payload).toMatchObject({ sub: userId, sid: sessionId, amr: ['pwd'] });
  });
});
