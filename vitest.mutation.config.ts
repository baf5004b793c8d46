import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Stryker's runs (npm run test:mutation): the auth package's unit specs, without the global setup
// that builds and packs the packages (test/global-setup.ts), which each mutant does not need.
// Plus test/route-audience.spec.ts, the one spec of the library used alone that test/ holds: the
// aliases point `@nest-m2m/auth` at the sources Stryker mutates (the normal run uses the built
// package, libs/auth/dist, which a mutant never reaches).
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@nest-m2m\/auth\/m2m$/, replacement: source('./libs/auth/src/m2m/index.ts') },
      { find: /^@nest-m2m\/auth$/, replacement: source('./libs/auth/src/index.ts') },
    ],
  },
  test: {
    include: ['libs/auth/src/**/*.spec.ts', 'test/auth-module.spec.ts', 'test/dpop-auth-module.spec.ts', 'test/route-audience.spec.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['./test/setup.ts'],
  },
});
