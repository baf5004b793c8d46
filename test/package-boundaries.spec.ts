import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Every file under `dir` whose name ends with `suffix`. */
function files(dir: string, suffix: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(suffix))
    .map((e) => join(e.parentPath, e.name));
}

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`). */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

/** Bare specifiers of the compiled package, split into static imports/re-exports and dynamic `import()`. */
function importsOf(lib: string): { static: Set<string>; dynamic: Set<string> } {
  const result = { static: new Set<string>(), dynamic: new Set<string>() };
  for (const file of files(join(ROOT, 'libs', lib, 'dist'), '.js')) {
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
      const spec = (m[1] ?? m[2])!; // one of the two alternatives matched, and each has one group
      if (!spec.startsWith('.') && !builtins.has(spec)) result.static.add(packageOf(spec));
    }
    for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1]!; // the pattern's one group
      if (!spec.startsWith('.') && !builtins.has(spec)) result.dynamic.add(packageOf(spec));
    }
  }
  return result;
}

const manifest = (lib: string) =>
  JSON.parse(readFileSync(join(ROOT, 'libs', lib, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;

describe('package boundaries (compiled output, as installed by users)', () => {
  it('every_package_the_auth_library_imports_is_declared_as_a_dependency_or_peer', () => {
    const { dependencies = {}, peerDependencies = {} } = manifest('auth');
    const declared = new Set([...Object.keys(dependencies), ...Object.keys(peerDependencies)]);
    const { static: imported, dynamic } = importsOf('auth');
    expect([...imported, ...dynamic].filter((p) => !declared.has(p))).toEqual([]);
  });

  it('the_auth_library_never_loads_the_service_stack_or_the_dev_issuer_and_loads_ioredis_only_on_demand', () => {
    const { static: imported, dynamic } = importsOf('auth');
    const forbidden = [
      '@nest-m2m/dev-issuer',
      '@nestjs/swagger',
      '@nestjs/terminus',
      '@nestjs/platform-fastify',
      '@nestjs/platform-express',
      'fastify',
      'express',
      'pino',
      'nestjs-pino',
      'prom-client',
      'zod',
    ];
    expect([...imported, ...dynamic].filter((p) => forbidden.includes(p))).toEqual([]);
    // An optional peer: a static import would make every install need it.
    expect(imported.has('ioredis')).toBe(false);
    const { peerDependenciesMeta = {} } = manifest('auth');
    expect(peerDependenciesMeta.ioredis).toEqual({ optional: true });
  });

  it('every_package_the_dev_issuer_imports_is_declared_and_it_does_not_import_the_auth_library', () => {
    const { dependencies = {}, peerDependencies = {} } = manifest('dev-issuer');
    const declared = new Set([...Object.keys(dependencies), ...Object.keys(peerDependencies)]);
    const { static: imported, dynamic } = importsOf('dev-issuer');
    expect([...imported, ...dynamic].filter((p) => !declared.has(p))).toEqual([]);
    expect(imported.has('@nest-m2m/auth')).toBe(false);
  });

  it('library_sources_import_nothing_from_the_service_its_tests_or_the_other_library', () => {
    const offending: string[] = [];
    for (const lib of ['auth', 'dev-issuer']) {
      const other = lib === 'auth' ? 'dev-issuer' : 'auth';
      for (const file of [...files(join(ROOT, 'libs', lib, 'src'), '.ts'), ...files(join(ROOT, 'libs', lib, 'test'), '.ts')]) {
        for (const m of readFileSync(file, 'utf8').matchAll(/\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
          const spec = (m[1] ?? m[2])!; // one of the two alternatives matched, and each has one group
          // Relative imports stay inside the library's own folder; bare ones never name the other library.
          const escapes = spec.startsWith('.') && !resolve(dirname(file), spec).startsWith(join(ROOT, 'libs', lib) + sep);
          if (escapes || spec.startsWith(`@nest-m2m/${other}`)) offending.push(`${file}: ${spec}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('the_service_imports_the_libraries_by_package_name_only', () => {
    const offending: string[] = [];
    for (const file of files(join(ROOT, 'src'), '.ts')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\bfrom\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = (m[1] ?? m[2])!; // one of the two alternatives matched, and each has one group
        if (spec.includes('libs/') || /^@nest-m2m\/(auth|dev-issuer)\/(?!m2m$)/.test(spec)) offending.push(`${file}: ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
