import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Two cores here: two workers keep the suite fast without starving dynalite.
    pool: 'forks',
    maxWorkers: 2,
    // Generous: race tests fire hundreds of parallel requests at the embedded store on 2 cores.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // The SDK warns that its 2027 releases will need Node 22; we pin versions that run on 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
