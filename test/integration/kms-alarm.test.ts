/**
 * The KMS error alarm counts the functions' `dependency failure` log lines
 * for KMS (KMS publishes no per-key error metric, and the functions answer a
 * KMS failure with a 503, so Lambda's Errors stay at zero). It must see them
 * at every log level the stack deploys with.
 */
import { describe, expect, it } from 'vitest';
import { jsonLogger } from '../../functions/adapters/logger.js';
import { DependencyError } from '../../functions/errors.js';
import { handler as oidcToken } from '../../functions/handlers/oidc-token.js';
import { installDeps } from '../../functions/runtime.js';
import { DEPLOYED_LOG_LEVELS } from '../../lib/twofold-stack.js';
import { createTestClient, createTestDeps, invoke } from '../support/harness.js';

describe('the KMS error alarm', () => {
  it.each(DEPLOYED_LOG_LEVELS)('sees a failed KMS Sign at log level %s', async (level) => {
    const t = await createTestDeps();
    const { client, secret } = await createTestClient(t.deps);
    const lines: string[] = [];
    installDeps({
      ...t.deps,
      logger: jsonLogger(level, (line) => lines.push(line)),
      signer: { ...t.deps.signer, currentKeyId: () => t.deps.signer.currentKeyId(), publicKeys: () => t.deps.signer.publicKeys(), sign: async () => {
        throw new DependencyError('kms');
      } },
    });
    const res = await invoke(oidcToken, { body: { grant_type: 'client_credentials', client_id: client.client_id, client_secret: secret } });
    expect(res.status).toBe(503);
    // What the metric filter matches: { ($.msg = "dependency failure") && ($.dependency = "kms") } (test/infra/stack.test.ts).
    const counted = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.msg === 'dependency failure' && l.dependency === 'kms');
    expect(counted).toHaveLength(1);
  });
});
