import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { childEnv } from './commands.js';

export interface PackedLibrary {
  name: string;
  /** Absolute path of the .tgz. */
  tarball: string;
  /** Paths inside the package, as `npm pack` put them in the tarball. */
  files: string[];
}

export interface PackedLibraries {
  auth: PackedLibrary;
  devIssuer: PackedLibrary;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/consumers/global-setup.ts, once per run. */
    packedLibraries: PackedLibraries;
  }
}

/** `npm pack` of both workspaces, as they would be published, into `destination`. */
export function packLibraries(root: string, destination: string): PackedLibraries {
  const out = execFileSync('npm', ['pack', '-w', 'libs/auth', '-w', 'libs/dev-issuer', '--pack-destination', destination, '--json'], {
    cwd: root,
    env: childEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const packed = JSON.parse(out) as { name: string; filename: string; files: { path: string }[] }[];
  const library = (name: string): PackedLibrary => {
    const entry = packed.find((p) => p.name === name);
    if (!entry) throw new Error(`npm pack did not pack ${name}: ${out}`);
    return { name, tarball: join(destination, entry.filename), files: entry.files.map((f) => f.path) };
  };
  return { auth: library('@nest-m2m/auth'), devIssuer: library('@nest-m2m/dev-issuer') };
}
