import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // libs/*/examples: the README samples run as users would run them.
    include: [
      'src/**/*.spec.ts',
      'test/**/*.spec.ts',
      'libs/*/src/**/*.spec.ts',
      'libs/*/test/**/*.spec.ts',
      'libs/*/examples/**/*.e2e-spec.ts',
    ],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Specs start real HTTP servers on 127.0.0.1:0 and share the local Redis; forks isolate them.
    pool: 'forks',
    setupFiles: ['./test/setup.ts'],
    // Builds libs/*/dist and dist/, then packs the libraries for test/consumers (in this order).
    globalSetup: ['./test/global-setup.ts', './test/consumers/global-setup.ts'],
  },
});
