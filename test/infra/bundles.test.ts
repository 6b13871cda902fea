/**
 * The Lambda bundles swap SDK modules for lighter stand-ins (esbuild aliases,
 * lib/constructs/endpoint-function.ts `bundleAliases`). Each stand-in must
 * export everything the SDK imports from the module it replaces, and a bundle
 * built exactly as the stack builds it must still make the calls Twofold makes:
 * here a signing function (KMS Sign, against a local KMS stand-in) and a
 * verifying one (DynamoDB GetItem, against the embedded dynalite), each run
 * from its bundle in a fresh Node process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { build } from 'esbuild';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jwkFromSpki } from '../../functions/published-keys.js';
import { routeNamed } from '../../functions/routes.js';
import { bundleAliases, esbuildOptionsFor } from '../../lib/constructs/endpoint-function.js';
import { FakeKmsKey } from '../support/fake-kms-key.js';
import { createTestClient, createTestDeps, type TestContext } from '../support/harness.js';

const ROOT = process.cwd();

/** Every .js file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => join(dir, file));
}

/** The names SDK code imports from `module`, statically or dynamically. */
function namesImportedFrom(module: string): Set<string> {
  const dirs = [
    ...readdirSync(join(ROOT, 'node_modules', '@aws-sdk')).map((name) => join(ROOT, 'node_modules', '@aws-sdk', name, 'dist-es')),
    join(ROOT, 'node_modules', '@smithy', 'core', 'dist-es'),
  ];
  const quoted = JSON.stringify(module).replace(/[/]/g, '\\/');
  const patterns = [new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*${quoted}`, 'g'), new RegExp(`\\{([^{}]*)\\}\\s*=\\s*await\\s+import\\(${quoted}\\)`, 'g')];
  const names = new Set<string>();
  for (const dir of dirs) {
    let files: string[];
    try {
      files = sources(dir);
    } catch {
      continue; // a package without an ESM build
    }
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (!text.includes(JSON.stringify(module))) continue;
      for (const pattern of patterns) {
        for (const match of text.matchAll(pattern)) {
          for (const part of match[1]!.split(',')) {
            const name = part.trim().split(/\s+as\s+|\s*:\s*/)[0]!.trim();
            if (name) names.add(name);
          }
        }
      }
    }
  }
  return names;
}

describe('the SDK stand-ins of the Lambda bundles', () => {
  it.each(Object.entries(bundleAliases(ROOT)))('%s: exports every name the SDK imports from it', async (module, standIn) => {
    const imported = namesImportedFrom(module);
    expect(imported.size, `no SDK code imports ${module}: drop its alias`).toBeGreaterThan(0);
    const exported = Object.keys(await import(standIn));
    for (const name of imported) expect(exported, `${module} ${name}`).toContain(name);
  });
});

describe('functions bundled as the stack bundles them', () => {
  const kmsKey = new FakeKmsKey('arn:aws:kms:us-east-1:123456789012:key/bundle-test');
  let dir: string;
  let kms: Server;
  let kmsCalls: string[] = [];
  let t: TestContext;
  let client: { id: string; secret: string };
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twofold-bundles-'));
    // A local KMS that answers Sign (JSON 1.1, as the SDK sends it) with the fake key.
    kms = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        const target = String(req.headers['x-amz-target']);
        kmsCalls.push(target);
        const input = JSON.parse(body) as { KeyId: string; Message: string; MessageType: string };
        if (target !== 'TrentService.Sign' || input.KeyId !== kmsKey.keyId || input.MessageType !== 'DIGEST') {
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ValidationException', message: 'unexpected' }));
          return;
        }
        const signature = Buffer.from(kmsKey.signDigest(Buffer.from(input.Message, 'base64'))).toString('base64');
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ KeyId: kmsKey.keyId, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
      });
    });
    await new Promise<void>((resolve) => kms.listen(0, '127.0.0.1', resolve));
    t = await createTestDeps({ clock: { now: () => Date.now() } } as never);
    const created = await createTestClient(t.deps);
    client = { id: created.client.client_id, secret: created.secret };
    env = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'bundle-test',
      AWS_SECRET_ACCESS_KEY: 'bundle-test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
      AWS_ENDPOINT_URL_KMS: `http://127.0.0.1:${(kms.address() as AddressInfo).port}`,
      TABLE_NAME: (t.store as unknown as { tableName: string }).tableName,
      ISSUER: t.deps.settings.issuer,
      KMS_KEY_ID: kmsKey.keyId,
      SIGNING_PUBLIC_KEYS: JSON.stringify([jwkFromSpki(kmsKey.spki)]),
      HASH_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:HashKey-abc',
      TOTP_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:TotpKeys-abc',
      USER_TOKEN_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:UserTokenKeys-abc',
      SES_FROM_ADDRESS: 'no-reply@twofold.example',
      LOG_LEVEL: process.env.BUNDLE_TEST_LOG ?? 'silent',
    };
  }, 60_000);

  afterAll(() => {
    kms?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Bundles the route's handler with the stack's settings; returns the file and its code. */
  async function bundle(name: string): Promise<{ file: string; code: string }> {
    const result = await build({ ...esbuildOptionsFor(routeNamed(name), ROOT), entryPoints: [join(ROOT, 'functions', 'handlers', `${name}.ts`)], write: false, logLevel: 'error' });
    const file = join(dir, `${name}.mjs`);
    writeFileSync(file, result.outputFiles[0]!.contents);
    return { file, code: result.outputFiles[0]!.text };
  }

  /** Imports the bundle in a fresh Node process and invokes its handler once, as API Gateway would. */
  async function run(file: string, request: { body?: unknown; token?: string; params?: Record<string, string> }): Promise<{ status: number; body: any }> {
    const event = {
      version: '2.0',
      routeKey: 'test',
      rawPath: '/test',
      rawQueryString: '',
      headers: { 'content-type': 'application/json', ...(request.token ? { authorization: `Bearer ${request.token}` } : {}) },
      pathParameters: request.params,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      isBase64Encoded: false,
      requestContext: { requestId: 'bundle-test', http: { method: 'POST', path: '/test', sourceIp: '127.0.0.1' } },
    };
    const script = `const { handler } = await import(process.argv[1]); const r = await handler(JSON.parse(process.argv[2]), { getRemainingTimeInMillis: () => 10000 }); process.stdout.write('\\n' + JSON.stringify(r));`;
    // Asynchronously: the local KMS answers from this process.
    const { stdout: out } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, file, JSON.stringify(event)], { env, encoding: 'utf8' });
    if (process.env.BUNDLE_TEST_LOG) console.log(out);
    const result = JSON.parse(out.slice(out.lastIndexOf('\n') + 1)) as { statusCode: number; body?: string };
    return { status: result.statusCode, body: result.body ? JSON.parse(result.body) : undefined };
  }

  it('a signing function has KMS sign through the bundled SDK, and its token verifies with the deployed key', async () => {
    const { file, code } = await bundle('oidc-token');
    expect(code).not.toContain('Truncated event message received');
    expect(code).not.toContain('AWS_ENABLE_ENDPOINT_DISCOVERY');
    kmsCalls = [];
    const res = await run(file, { body: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret } });
    expect(res.status).toBe(200);
    expect(kmsCalls).toEqual(['TrentService.Sign']);
    const { payload } = await jwtVerify(res.body.access_token, createLocalJWKSet({ keys: [jwkFromSpki(kmsKey.spki)] }), { issuer: t.deps.settings.issuer });
    expect(payload.client_id).toBe(client.id);
  });

  it('a verifying function reads DynamoDB through the bundled SDK and calls no KMS', async () => {
    const { file: token } = await bundle('oidc-token');
    const issued = await run(token, { body: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret } });
    const { file, code } = await bundle('users-get');
    expect(code).not.toContain('TrentService');
    kmsCalls = [];
    // 404: the token was verified with the deployed key and the client and user records were read from the table.
    expect((await run(file, { token: issued.body.access_token, params: { user_id: 'nobody' } })).status).toBe(404);
    expect(kmsCalls).toEqual([]);
  });
});
