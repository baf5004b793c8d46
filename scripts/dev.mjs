#!/usr/bin/env node
/**
 * `npm run start:dev`: TypeScript's incremental watch (`tsc -b -w`, the packages and the service)
 * and `node --watch dist/main.js`, which restarts the service whenever a file it loaded changes,
 * the packages' dist/ included. No Nest CLI and no extra dependency; Ctrl-C stops both.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// One build first, so that node --watch starts from a current dist/ (and the first error shows).
const first = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
if (first.status !== 0) process.exit(first.status ?? 1);

const children = [
  spawn(process.execPath, [tsc, '-b', '-w', '--preserveWatchOutput', 'tsconfig.build.json'], { stdio: 'inherit' }),
  spawn(process.execPath, ['--watch', '--watch-preserve-output', 'dist/main.js'], { stdio: 'inherit' }),
];
let stopping = false;
const stop = (code) => {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
};
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => stop(0));
for (const child of children) child.once('exit', (code) => stop(code ?? 0));
