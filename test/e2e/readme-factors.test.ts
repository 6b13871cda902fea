/**
 * The README's curl examples of the factor lifecycle, run as written (bash,
 * curl, jq) against the local server: the walkthrough that creates Ada and
 * her session, the authenticator-app section, then "Adding and removing
 * factors". Only the base URL is swapped for the test server's.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startLocalServer, type LocalServer } from '../../functions/adapters/local/server.js';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { TEST_SCRYPT } from '../support/harness.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The first ```sh block after the heading `heading`. */
function shBlockAfter(heading: string): string {
  const at = README.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README has no heading ${heading}`);
  const block = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  if (!block) throw new Error(`README has no sh block after ${heading}`);
  return block[1]!;
}

let server: LocalServer;

beforeAll(async () => {
  server = await startLocalServer({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tableName: `readme-${Date.now()}`,
    logger: jsonLogger('silent'),
    settings: { scrypt: TEST_SCRYPT },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("the README's factor lifecycle examples", { timeout: 60_000 }, () => {
  it('list the factors and revoke the authenticator app, which ends the sessions', async () => {
    const walkthrough = shBlockAfter('## Five minutes to an MFA token with curl');
    expect(walkthrough).toContain('BASE=http://127.0.0.1:3000');
    const script = [
      'set -e',
      walkthrough.replace('BASE=http://127.0.0.1:3000', `BASE=${server.url}`),
      shBlockAfter('### An authenticator app (TOTP)'),
      'echo "--- factors"',
      shBlockAfter('## Adding and removing factors'),
    ].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-c', script], { maxBuffer: 1 << 20 });
    const factors = stdout.slice(stdout.indexOf('--- factors'));
    const listed = factors
      .split('\n')
      .filter((line) => line.startsWith('{"id"'))
      .map((line) => JSON.parse(line) as { id: string; type: string; status: string });
    expect(listed).toContainEqual({ id: 'password', type: 'password', status: 'Active' });
    expect(listed).toContainEqual({ id: 'sms_otp', type: 'sms_otp', status: 'Active' });
    expect(listed).toContainEqual({ id: expect.any(String), type: 'totp', status: 'Registered' });
    expect(factors).toMatch(/^204$/m);
    expect(factors).toMatch(/^session_not_found$/m);
  });
});
