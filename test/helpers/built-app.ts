import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/free-port.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// dist/ is built once per run by test/global-setup.ts.
export { freePort };

export interface RunningApp {
  child: ChildProcess;
  url: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `node dist/main.js` (or `command`) as its own process with exactly `env` plus PATH (never
 * the test runner's environment), on 127.0.0.1 and a free port.
 */
export async function spawnApp(env: Record<string, string>, options: { cwd?: string; command?: string[] } = {}): Promise<RunningApp> {
  const port = env.PORT ?? String(await freePort());
  const [cmd, ...args] = options.command ?? ['node', 'dist/main.js'];
  if (cmd === undefined) throw new Error('spawnApp: the command is empty');
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: port, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  );
  return { child, url: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}

/** Waits until `GET /health` answers 200, or throws with the process output when it exits or times out. */
export async function waitForHealth(app: RunningApp, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void app.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(`${app.url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the app did not become healthy (exited: ${exited})\nstdout:\n${app.stdout()}\nstderr:\n${app.stderr()}`);
}

/** Kills the process if a spec left it running. */
export async function stopApp(app: RunningApp | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null || app.child.signalCode !== null) return;
  app.child.kill('SIGKILL');
  await app.exited;
}
