/**
 * What the bench scripts share: command-line options, pinning processes to a core, and one run of
 * the load generator in its own process.
 */
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load-generator.js';

const here = dirname(fileURLToPath(import.meta.url));

/** `--name value` from the command line, or the fallback. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

export const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/**
 * Node running `script` under `taskset -c <core>` when the machine has it (fork() with taskset as the
 * "node" binary: taskset execs node with the IPC channel inherited). `stdout`: /dev/null for a server
 * (its access lines would fill an unread pipe), a pipe for a result.
 */
export function pinned(
  core: number,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdout: 'ignore' | 'pipe',
  nodeFlags: string[] = [],
): ChildProcess {
  const execPath = hasTaskset ? 'taskset' : process.execPath;
  const execArgv = hasTaskset ? ['-c', String(core), process.execPath, ...nodeFlags] : nodeFlags;
  return fork(script, args, { execPath, execArgv, env, stdio: ['ignore', stdout, 'inherit', 'ipc'] });
}

/** One run of bench/load-generator.ts, pinned to core 1; killed if it outlives its own duration by a minute. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = pinned(1, join(here, 'load-generator.js'), [JSON.stringify(spec)], process.env, 'pipe');
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const limit = setTimeout(() => child.kill('SIGKILL'), (spec.warmupSeconds + spec.durationSeconds + 60) * 1000);
    child.once('exit', (code) => {
      clearTimeout(limit);
      if (code !== 0) {
        reject(new Error(`load generator exited with ${code}`));
        return;
      }
      resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}
