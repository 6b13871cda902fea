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
import { rotationPlan } from '../../lib/constructs/signing-key.js';

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

describe('the settings of a signing key rotation', () => {
  it('refuses phase 1\'s publishNextSigningKey left on in phase 2, which would create a third key', async () => {
    const stderr = await synthFailure({ senderEmail: 'ci@example.com', signingKeyGeneration: '2', previousKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/old', publishNextSigningKey: 'true' });
    expect(stderr).toMatch(/signing key rotation: publishNextSigningKey=true \(rotation phase 1\) together with previousKeyArn \(phase 2\) would create a third key, generation 3/);
  });

  it('refuses a phase 2 that forgets to raise signingKeyGeneration, which would drop the key phase 1 created', async () => {
    expect(await synthFailure({ senderEmail: 'ci@example.com', previousKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/old' })).toMatch(/previousKeyArn is for phase 2 of a rotation, which also raises signingKeyGeneration/);
  });

  it('names each phase and what comes next, and says nothing outside a rotation', () => {
    expect(rotationPlan({})).toEqual({ phase: 'steady', problems: [], notes: [] });
    expect(rotationPlan({ generation: 2 })).toEqual({ phase: 'steady', problems: [], notes: [] });
    const publish = rotationPlan({ publishNextKey: true });
    expect(publish).toMatchObject({ phase: 'publish', problems: [] });
    expect(publish.notes.join()).toMatch(/Phase 2, at least 5 minutes after this deploy succeeded: -c signingKeyGeneration=2 -c previousKeyArn=<output SigningKeyArn of this deploy>, without publishNextSigningKey/);
    const sign = rotationPlan({ generation: 2, previousKeyArns: ['arn:aws:kms:us-east-1:123456789012:key/old'] });
    expect(sign).toMatchObject({ phase: 'sign', problems: [] });
    expect(sign.notes.join()).toMatch(/Phase 3, at least 65 minutes after this deploy succeeded: drop previousKeyArn .*schedule the old key's deletion only once phase 3 has succeeded/);
  });
});
