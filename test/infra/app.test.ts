/**
 * The CDK app (bin/twofold.ts) refuses, at synth, settings that could never
 * work, before bundling or deploying anything: a missing sender, and any
 * context value the functions' own configuration rules would refuse.
 */
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs the app as `cdk synth` would, with `context`; resolves with its stderr when it fails. */
async function synthFailure(context: Record<string, string>): Promise<string> {
  const outdir = await mkdtemp(join(tmpdir(), 'twofold-synth-'));
  try {
    await run('npx', ['tsx', 'bin/twofold.ts'], { env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir } });
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  throw new Error('the synth succeeded');
}

describe('cdk synth', () => {
  it('fails without senderEmail, saying how to pass one', async () => {
    expect(await synthFailure({})).toMatch(/context senderEmail is required/);
  });

  it('fails on a context value the functions would refuse, naming it', async () => {
    expect(await synthFailure({ senderEmail: 'ci@example.com', appName: 'x'.repeat(65) })).toMatch(/invalid settings: APP_NAME/);
    expect(await synthFailure({ senderEmail: 'ci@example.com', logLevel: 'silent' })).toMatch(/context logLevel must be info, warn, error/);
    expect(await synthFailure({ senderEmail: 'ci@example.com', totpKeyIds: 'a.b' })).toMatch(/TOTP_KEY_IDS/);
  });

  it('fails on user-token key versions the functions would refuse, naming them', async () => {
    expect(await synthFailure({ senderEmail: 'ci@example.com', userTokenKeyIds: 'a.b' })).toMatch(/USER_TOKEN_KEY_IDS/);
  });
});
