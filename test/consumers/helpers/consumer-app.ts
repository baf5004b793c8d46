import { mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '../../helpers/built-app.js';
import { APP_SOURCES } from './app-sources.js';
import { runOk } from './commands.js';
import type { PackedLibraries } from './packed-libraries.js';

/** What differs between the consumer apps; everything else is what a Nest user has. */
export interface ConsumerAppSpec {
  /** Directory name, and the package name after `consumer-`. */
  name: string;
  /** `"type"` of the app's package.json; CommonJS when absent. */
  type?: 'module';
  /** Version or range of `@nestjs/core`, `@nestjs/common` and `@nestjs/platform-express`. */
  nest: string;
  /** tsconfig files by name; the first one builds dist/, the others only type-check (`noEmit`). */
  tsconfigs: Record<string, Record<string, unknown>>;
}

export interface InstalledApp {
  spec: ConsumerAppSpec;
  dir: string;
  installMs: number;
}

const rootManifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** The version the service itself uses, so consumer apps test what the repository tests. */
export function rootVersion(name: string): string {
  const version = rootManifest.dependencies[name] ?? rootManifest.devDependencies[name];
  if (!version) throw new Error(`the root package.json does not list ${name}`);
  return version;
}

/** `~12.4.0` when the service is on 12.5.x: the newest patch of the previous minor. */
export function previousMinorRange(version: string): string {
  const [major, minor] = version.split('.').map(Number);
  if (minor === undefined || !(minor > 0)) throw new Error(`${version} has no previous minor within its major`);
  return `~${major}.${minor - 1}.0`;
}

const BASE_COMPILER_OPTIONS = {
  target: 'ES2023',
  lib: ['ES2023'],
  types: ['node'],
  strict: true,
  // The user-facing declarations must hold up without the user's lib check switched off.
  skipLibCheck: false,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  outDir: 'dist',
  rootDir: 'src',
  noEmitOnError: true,
};

export const ESM_TSCONFIG = { module: 'nodenext', moduleResolution: 'nodenext', isolatedModules: true };

/** Writes package.json, tsconfig(s) and sources of a fresh app into `<root>/<name>`, then `npm install`s it. */
export async function createConsumerApp(root: string, spec: ConsumerAppSpec, packed: PackedLibraries): Promise<InstalledApp> {
  const dir = join(root, spec.name);
  const manifest = {
    name: `consumer-${spec.name}`,
    private: true,
    ...(spec.type ? { type: spec.type } : {}),
    dependencies: {
      '@nest-m2m/auth': `file:${packed.auth.tarball}`,
      '@nestjs/axios': rootVersion('@nestjs/axios'),
      '@nestjs/common': spec.nest,
      '@nestjs/core': spec.nest,
      '@nestjs/passport': rootVersion('@nestjs/passport'),
      '@nestjs/platform-express': spec.nest,
      axios: rootVersion('axios'),
      passport: rootVersion('passport'),
      'reflect-metadata': rootVersion('reflect-metadata'),
      rxjs: rootVersion('rxjs'),
    },
    devDependencies: {
      '@nest-m2m/dev-issuer': `file:${packed.devIssuer.tarball}`,
      '@types/node': rootVersion('@types/node'),
      // What any app with skipLibCheck false needs for @nestjs/passport's own declarations (they
      // import passport's types); nothing of @nest-m2m/auth's declarations needs more.
      '@types/passport': '^1.0.17',
      typescript: rootVersion('typescript'),
    },
  };
  const files: Record<string, string> = { ...APP_SOURCES, 'package.json': json(manifest) };
  for (const [i, [file, options]] of Object.entries(spec.tsconfigs).entries()) {
    const compilerOptions = { ...BASE_COMPILER_OPTIONS, ...options, ...(i > 0 ? { noEmit: true } : {}) };
    files[file] = json({ compilerOptions, include: ['src'] });
  }
  for (const [file, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  const install = await runOk('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir });
  return { spec, dir, installMs: install.ms };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
