/**
 * The credential provider the Lambda bundles use instead of the SDK's default
 * chain: it reads the role credentials Lambda puts in the environment, and
 * nothing else.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultProvider } from '../../functions/adapters/aws/env-credentials.js';

afterEach(() => vi.unstubAllEnvs());

describe('the environment-only credential provider', () => {
  it('reads the credentials Lambda sets for the function role', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token-example');
    await expect(defaultProvider()()).resolves.toMatchObject({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret-example', sessionToken: 'token-example' });
  });

  it('fails rather than falling back to another source when they are missing', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', '');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', '');
    await expect(defaultProvider()()).rejects.toThrow();
  });
});
