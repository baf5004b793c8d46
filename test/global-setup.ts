import { execFileSync } from 'node:child_process';

/**
 * The service's specs import the libraries by package name, as users do, so they run the built
 * `libs/*\/dist`; specs that run the service as `npm start` and the image do (`node dist/main.js`)
 * need `dist/` too. `tsc -b` builds what changed (libraries first), once, before any spec runs.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
}
