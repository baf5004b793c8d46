import { type ChildProcess, spawn } from 'node:child_process';
import { delimiter, dirname } from 'node:path';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Variables that `npm test` hands its children and that would make a nested npm act on this
 * repository (its package.json, its workspaces) instead of the consumer directory it runs in.
 */
const INHERITED_NPM_STATE =
  /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_(local_prefix|workspaces?|include_workspace_root|call|user_agent)$)/i;

/**
 * The environment for npm, npx and node children: the runner's (registry, cache and proxy settings
 * stay), without npm's per-script state, with the running Node first on PATH so that `npm` and
 * `#!/usr/bin/env node` bins run on the same Node as the tests (CI runs them on 20 and 24).
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!INHERITED_NPM_STATE.test(key)) env[key] = value;
  env.PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter);
  return { ...env, ...extra };
}

const running = new Set<ChildProcess>();

/** Runs a command to its end (or `timeoutMs`, then SIGKILL) and collects its output. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  const started = performance.now();
  const child = spawn(command === 'node' ? process.execPath : command, args, {
    cwd: options.cwd,
    env: options.env ?? childEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: options.timeoutMs ?? 180_000,
    killSignal: 'SIGKILL',
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Throws with the command's output unless it exited 0. */
export async function runOk(command: string, args: string[], options: Parameters<typeof run>[2]): Promise<CommandResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` in ${options.cwd} exited ${result.code ?? result.signal}\n${describeOutput(result)}`);
  }
  return result;
}

export function describeOutput(result: CommandResult): string {
  return `stdout:\n${result.stdout.trim()}\nstderr:\n${result.stderr.trim()}`;
}

/** Kills the commands a failed or timed-out spec left running. */
export function killRunningCommands(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
}
