import { defineConfig } from 'vitest/config';

// Stryker's runs (npm run test:mutation): the auth package's unit specs only, without the global
// setup that builds and packs the packages (test/global-setup.ts), which each mutant does not need.
export default defineConfig({
  test: {
    include: ['libs/auth/src/**/*.spec.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['./test/setup.ts'],
  },
});
