import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  try {
    return statSync(join(ROOT, 'dist/main.js')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * `npm run build` when `dist/` is missing or older than `src/`. Specs run in parallel workers, so a
 * lock directory makes one of them build while the others wait for it.
 */
export async function ensureBuilt(): Promise<void> {
  const lock = join(ROOT, '.tmp/build.lock');
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than any build is left over from a killed run.
      try {
        if (Date.now() - statSync(lock).mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      await sleep(250);
    }
  }
  try {
    if (builtAt() < newestMtime(join(ROOT, 'src'))) await run('npm', ['run', 'build'], { cwd: ROOT });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

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
  const child = spawn(cmd === 'node' ? process.execPath : cmd, args, {
    cwd: options.cwd ?? ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: port, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })));
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
