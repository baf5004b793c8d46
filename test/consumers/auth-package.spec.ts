import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOT } from '../helpers/built-app.js';
import { describeOutput, killRunningCommands, run, runOk } from './helpers/commands.js';
import { rootVersion } from './helpers/consumer-app.js';
import { installFootprint, type PackageLock } from './helpers/install-footprint.js';

/**
 * The goal is under 40 packages for `npm install @nest-m2m/auth` into an empty project. npm 7+
 * installs the required peers too (Nest, passport, axios, rxjs…), which alone are about half of
 * today's count; this ceiling only catches a dependency that drags in a new tree.
 */
const INSTALL_CEILING = 100;

describe('the packed libraries', { timeout: 300_000 }, () => {
  const packed = inject('packedLibraries');

  it('the_auth_tarball_ships_both_entries_with_declarations_and_no_specs_or_build_state', () => {
    const files = packed.auth.files;
    expect(files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/m2m/index.js', 'dist/m2m/index.d.ts', 'package.json']),
    );
    expect(files.filter((f) => f.endsWith('.d.ts')).length).toBeGreaterThan(10);
    expect(files.filter((f) => /\.spec\./.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
  });

  it('the_dev_issuer_tarball_ships_its_entry_and_bin_and_no_specs_or_build_state', () => {
    const files = packed.devIssuer.files;
    expect(files).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/cli.js', 'package.json']));
    expect(files.filter((f) => /\.spec\./.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.tsbuildinfo'))).toEqual([]);
  });

  it('every_exports_types_and_bin_target_is_in_its_tarball', async () => {
    for (const [dir, library] of [
      ['libs/auth', packed.auth],
      ['libs/dev-issuer', packed.devIssuer],
    ] as const) {
      const manifest = JSON.parse(await readFile(join(ROOT, dir, 'package.json'), 'utf8')) as Record<string, unknown>;
      const targets = new Set<string>();
      const collect = (value: unknown): void => {
        if (typeof value === 'string') targets.add(value.replace(/^\.\//, ''));
        else if (value && typeof value === 'object') Object.values(value).forEach(collect);
      };
      collect([manifest.exports, manifest.main, manifest.types, manifest.bin, manifest.typesVersions]);
      expect(
        [...targets].filter((target) => !library.files.includes(target)),
        `${library.name} points at files it does not ship`,
      ).toEqual([]);
    }
  });

  describe('@nest-m2m/auth installed alone into an empty project', () => {
    let dir: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'nest-m2m-auth-alone-'));
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'auth-alone', private: true }));
      const install = await runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', packed.auth.tarball], { cwd: dir });
      console.log(`@nest-m2m/auth alone: npm install ${(install.ms / 1000).toFixed(1)}s`);
    }, 300_000);

    afterAll(async () => {
      killRunningCommands();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('installs_a_bounded_number_of_packages', async () => {
      const lock = JSON.parse(await readFile(join(dir, 'package-lock.json'), 'utf8')) as PackageLock;
      const footprint = installFootprint(lock, '@nest-m2m/auth');
      console.log(
        [
          `@nest-m2m/auth installs ${footprint.total} packages`,
          `  ${footprint.peerTrees} are its auto-installed peers and their dependencies (a Nest app using passport and axios has them already)`,
          `  ${footprint.ownDependenciesOnly} come only with its own dependencies; by dependency (beyond the peers' trees / only through it):`,
          ...footprint.contributors.map((c) => `    ${c.name}: ${c.beyondPeers} / ${c.onlyThroughIt}`),
        ].join('\n'),
      );
      expect(footprint.total).toBeLessThan(INSTALL_CEILING);
      // The target: what the package itself brings, beyond the Nest/passport peers an app has.
      expect(footprint.ownDependenciesOnly).toBeLessThan(40);
    });

    /** Loads each entry with `import` and with `require` (CommonJS apps: Node's require(esm)). */
    async function loadFailures(entries: string[]): Promise<string[]> {
      const failures: string[] = [];
      for (const entry of entries) {
        for (const args of [
          ['--input-type=module', '-e', `await import(${JSON.stringify(entry)})`],
          ['-e', `require(${JSON.stringify(entry)})`],
        ]) {
          const result = await run('node', args, { cwd: dir });
          if (result.code !== 0)
            failures.push(
              `node ${args.join(' ')}: exit ${result.code}\n${result.stderr
                .split('\n')
                .filter((l) => /Error|imported from/.test(l))
                .slice(0, 2)
                .join('\n')}`,
            );
        }
      }
      return failures;
    }

    /** Type-checks `source` with skipLibCheck false and the repository's TypeScript (the version the apps install). */
    async function typeCheck(source: string[]) {
      await writeFile(join(dir, 'check.ts'), [...source, ''].join('\n'));
      const compilerOptions = {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'ES2023',
        strict: true,
        skipLibCheck: false,
        noEmit: true,
        types: ['node'],
      };
      await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }));
      return run('node', [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: dir });
    }

    // Optional peers (peerDependenciesMeta) are not installed by npm: @nestjs/axios and axios are for
    // the ./m2m entry only, ioredis for a Redis token cache only.
    it('the_incoming_entry_loads_and_type_checks_without_any_optional_peer', async () => {
      for (const optional of ['@nestjs/axios', 'axios', 'ioredis'])
        expect(existsSync(join(dir, 'node_modules', optional)), optional).toBe(false);
      const failures = await loadFailures(['@nest-m2m/auth']);
      expect(failures, failures.join('\n\n')).toEqual([]);
      // @nestjs/passport's own declarations import passport's types: any app with skipLibCheck false has them.
      await runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-save', '@types/passport@^1.0.17'], { cwd: dir });
      const tsc = await typeCheck([
        "import { AuthModule, ScopesGuard, Scopes, Principal, routeRequirements, type AuthPrincipal, type TokenClaims } from '@nest-m2m/auth';",
        'export const used = [AuthModule, ScopesGuard, Scopes, Principal, routeRequirements];',
        'export type Used = AuthPrincipal | TokenClaims;',
      ]);
      expect(tsc.code, describeOutput(tsc)).toBe(0);
    });

    it('the_m2m_entry_loads_and_type_checks_with_its_http_peers_and_without_the_optional_peer_ioredis', async () => {
      await runOk(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--prefer-offline',
          '--no-save',
          '@types/passport@^1.0.17',
          `@nestjs/axios@${rootVersion('@nestjs/axios')}`,
          `axios@${rootVersion('axios')}`,
        ],
        { cwd: dir },
      );
      expect(existsSync(join(dir, 'node_modules', 'ioredis'))).toBe(false);
      const failures = await loadFailures(['@nest-m2m/auth', '@nest-m2m/auth/m2m']);
      expect(failures, failures.join('\n\n')).toEqual([]);
      const tsc = await typeCheck([
        "import { AuthModule, ScopesGuard, Scopes, type AuthPrincipal } from '@nest-m2m/auth';",
        "import { M2MModule, M2MTokenService, RedisTokenCache, type M2MModuleOptions } from '@nest-m2m/auth/m2m';",
        'export const used = [AuthModule, ScopesGuard, Scopes, M2MModule, M2MTokenService, RedisTokenCache];',
        'export type Used = AuthPrincipal | M2MModuleOptions;',
      ]);
      expect(tsc.code, describeOutput(tsc)).toBe(0);
    });
  });
});
