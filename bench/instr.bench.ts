/**
 * Instructions per request (valgrind callgrind), which a shared, noisy VM cannot change:
 *
 *   npm run bench:instr                              # every case, 2000 measured requests each
 *   npm run bench:instr -- --requests 4000 --apps service-fastify,bare-fastify
 *   npm run bench:instr -- --check                   # the CI guard: a small run, ratios vs bench/instr-bounds.json
 *
 * Each app server (bench/server.ts) runs under `valgrind --tool=callgrind --smc-check=all-non-file`
 * (V8 writes the code it runs: the flag makes valgrind notice), with simulation off
 * (`--instr-atstart=no`) except in the measured windows. For each scenario, on the same server: a
 * warm-up (enough requests for V8 to optimise the hot code, and every distinct token once, so the
 * measured requests are cache hits), a full GC (`--expose-gc`, through the IPC channel),
 * `callgrind_control -i on` and `-z` (simulate, zero the counters), N requests at concurrency 4,
 * `callgrind_control --dump` and `-i off`. callgrind takes a command only while the process runs,
 * so an IPC ping wakes the idle server; the ping's cost (one message) is inside the count, ~0.01 %
 * of it. The main thread's instructions ÷ N is the figure (GC included: `--single-threaded-gc`);
 * V8's compiler threads are printed beside it. A `--dump` hint that starts with a digit is read as
 * a pid, hence the `case-` prefix.
 *
 * Ratios of these counts (whole service vs bare Nest app, guarded vs unguarded) are what the CI
 * guard compares with committed bounds: they hold on any x86-64 machine with the same Node major.
 */
import 'reflect-metadata';
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { distinctTokens } from './tokens.js';
import { option } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

const CHECK = process.argv.includes('--check');
const REQUESTS = Number(option('requests', CHECK ? '600' : '2000'));
const WARMUP = Number(option('warmup', CHECK ? '1200' : '2000'));
const CONCURRENCY = Number(option('concurrency', '4'));
const REPEAT = Number(option('repeat', '1'));
const DISTINCT = 1000;
/** `--bounds FILE`: another bounds file (e.g. a deliberately tight one, to see the check fail). */
const BOUNDS_FILE = option('bounds', join(root, 'bench', 'instr-bounds.json'));

type Tokens = 'none' | 'one' | 'distinct';
interface Scenario {
  name: 'unguarded' | 'guarded, 1 token' | 'guarded, 1000 tokens';
  path: string;
  tokens: Tokens;
}
interface AppSpec {
  name: string;
  app: 'bare' | 'ours' | 'textbook' | 'real' | 'oauth2-bearer';
  platform: 'express' | 'fastify';
  scenarios: Scenario[];
  env?: Record<string, string>;
}

const guardedScenarios = (unguarded: string, guarded: string): Scenario[] => [
  // Every request carries an Authorization header, the unguarded one too (its route ignores it): the
  // same request bytes, so the difference is the guard's work.
  { name: 'unguarded', path: unguarded, tokens: 'one' },
  { name: 'guarded, 1 token', path: guarded, tokens: 'one' },
  { name: 'guarded, 1000 tokens', path: guarded, tokens: 'distinct' },
];

const ALL_APPS: AppSpec[] = [
  { name: 'bare-express', app: 'bare', platform: 'express', scenarios: [{ name: 'unguarded', path: '/public', tokens: 'one' }] },
  { name: 'bare-fastify', app: 'bare', platform: 'fastify', scenarios: [{ name: 'unguarded', path: '/public', tokens: 'one' }] },
  { name: 'service-express', app: 'real', platform: 'express', scenarios: guardedScenarios('/health', '/internal/documents/1') },
  { name: 'service-fastify', app: 'real', platform: 'fastify', scenarios: guardedScenarios('/health', '/internal/documents/1') },
  { name: 'textbook', app: 'textbook', platform: 'express', scenarios: guardedScenarios('/public', '/guarded') },
  { name: 'oauth2-bearer', app: 'oauth2-bearer', platform: 'express', scenarios: guardedScenarios('/public', '/guarded') },
];

/**
 * The small run of `--check`: the default platform (Fastify), 1200 warm-up + 600 measured requests
 * per scenario, about 85 s of CPU (valgrind included; 3 min 40 s of wall time on this VM at load
 * average 12). Add `--apps bare-fastify,service-fastify,bare-express,service-express` for the
 * Express bounds too. Bounds whose rows were not measured are skipped.
 */
const CHECK_APPS = ['bare-fastify', 'service-fastify'];
const wanted = option('apps', (CHECK ? CHECK_APPS : ALL_APPS.map((a) => a.name)).join(',')).split(',');
const APPS = ALL_APPS.filter((a) => wanted.includes(a.name));

/** callgrind's files of this run (one directory per run, so that two runs never mix their dumps). */
const OUT_DIR = join(root, '.tmp', 'instr', String(process.pid));

interface Server {
  pid: number;
  url: string;
  child: ChildProcess;
  call: (message: string, reply: string) => Promise<void>;
  stop: () => Promise<void>;
  gcEvents: { scavenge: number; markCompact: number };
}

async function startServer(spec: AppSpec, env: NodeJS.ProcessEnv): Promise<Server> {
  const outFile = join(OUT_DIR, `${spec.name}.out`);
  const valgrind = [
    '--tool=callgrind',
    '--smc-check=all-non-file',
    // No simulation until `callgrind_control -i on` just before a measured window: start-up and
    // warm-up then run at valgrind's bare ~5x slowdown instead of callgrind's ~50x. The guest does
    // the same work either way; only the measured windows are counted.
    '--instr-atstart=no',
    // One dump file per thread: the main thread's count is the figure, the others' (V8's optimising
    // compiler, still finishing its work after any warm-up) is reported beside it.
    '--separate-threads=yes',
    `--callgrind-out-file=${outFile}`,
    process.execPath,
    '--expose-gc',
    '--trace-gc',
    // The garbage collector's work on the main thread, where it is counted with the requests that made
    // the garbage, instead of in helper threads beside the compiler's.
    '--single-threaded-gc',
    // GC by allocated bytes, not by time: a fixed young generation (V8 otherwise sizes it by recent
    // survival and the memory reducer shrinks it when the allocation rate per ms looks low, which it
    // always does under valgrind's slowdown and more so on a loaded machine), and no memory reducer
    // (it starts mark-compacts from a timer). Without these, one 2000-request window of the same
    // code took 18 scavenges in one run and 75 scavenges and a mark-compact in the next.
    '--min-semi-space-size=16',
    '--max-semi-space-size=16',
    '--no-memory-reducer',
  ];
  // fork() with valgrind as the "node" binary: valgrind runs node in the same process (same pid),
  // with the IPC channel inherited.
  const child = fork(join(here, 'server.js'), ['--app', spec.app, '--platform', spec.platform], {
    execPath: 'valgrind',
    execArgv: valgrind,
    // Valgrind slows the server ~50x: generous HTTP timeouts, or idle keep-alive sockets are reset.
    env: {
      ...env,
      HTTP_HEADERS_TIMEOUT_MS: '600000',
      HTTP_REQUEST_TIMEOUT_MS: '600000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '600000',
      // No event-loop delay sampling (a 10 ms timer for the soak's figures): work per unit of time, not per request.
      BENCH_LOOP_DELAY: 'off',
      ...spec.env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // --trace-gc lines (stdout, with the access log when there is one): counted per measured window.
  const gcEvents = { scavenge: 0, markCompact: 0 };
  child.stdout!.on('data', (d: Buffer) => {
    const text = d.toString();
    gcEvents.scavenge += text.match(/: Scavenge/g)?.length ?? 0;
    gcEvents.markCompact += text.match(/: Mark-Compact/g)?.length ?? 0;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name}: server did not start within 600 s\n${stderr}`)), 600_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name}: server exited with ${code}\n${stderr}`));
    });
  });
  const call = (message: string, reply: string) =>
    new Promise<void>((resolve) => {
      const onMessage = (m: Record<string, unknown>) => {
        if (!(reply in m)) return;
        child.off('message', onMessage);
        resolve();
      };
      child.on('message', onMessage);
      child.send(message);
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.disconnect();
    });
  return { pid: child.pid!, url: `http://127.0.0.1:${port}`, child, call, stop, gcEvents };
}

/** `callgrind_control <args> <pid>`, with IPC pings until it returns: callgrind acts only while the guest runs. */
async function callgrindControl(server: Server, args: string[]): Promise<string> {
  const control = spawn('callgrind_control', [...args, String(server.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  control.stdout.on('data', (d: Buffer) => (out += d.toString()));
  control.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    control.once('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  await new Promise((r) => setTimeout(r, 300));
  while (!done) {
    await server.call('ping', 'pong');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
  }
  if ((await exited) !== 0) throw new Error(`callgrind_control ${args.join(' ')} failed: ${out}`);
  return out;
}

/** `n` GET requests, `concurrency` at a time over keep-alive connections; every answer must be a 200. */
async function drive(url: string, path: string, tokens: string[], n: number, start = 0): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        { agent, headers: { authorization: `Bearer ${tokens[(start + i) % tokens.length]}` } },
        (res) => {
          res.resume();
          res.once('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path} answered ${res.statusCode}`))));
        },
      );
      req.once('error', reject);
      req.end();
    });
  const worker = async () => {
    while (next < n) await one(next++);
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    agent.destroy();
  }
}

/** The total instruction count (`summary:`/`totals:` line, event Ir) of a callgrind dump. */
function instructionsIn(file: string): number {
  const text = readFileSync(file, 'utf8');
  const line = text.match(/^(?:summary|totals):\s*(\d+)/m);
  if (!line) throw new Error(`no totals in ${file}`);
  return Number(line[1]);
}

/** A dump of one of libuv's thread-pool threads (its work loop, uv__queue_work, is in it). */
function isThreadPool(file: string): boolean {
  return readFileSync(file, 'utf8').includes(' uv__queue_work\n');
}

function dumpFiles(app: string): string[] {
  return readdirSync(OUT_DIR).filter((f) => f.startsWith(`${app}.out`));
}

interface Row {
  app: string;
  scenario: Scenario['name'];
  instructionsPerRequest: number;
  /** Per request, in V8's threads (the optimising compiler). Not in the figure. */
  otherThreads: number;
  /** Per request, in libuv's thread pool (crypto or fs work done for the request). In the figure. */
  threadPool: number;
  gcs: { scavenge: number; markCompact: number };
}

const fmtM = (n: number) => `${(n / 1e6).toFixed(3)} M`;

async function measureApp(spec: AppSpec, env: NodeJS.ProcessEnv, token: string, distinct: string[]): Promise<Row[]> {
  const rows: Row[] = [];
  const t0 = Date.now();
  const server = await startServer(spec, env);
  try {
    for (const scenario of spec.scenarios)
      for (let rep = 0; rep < REPEAT; rep++) {
        const tokens = scenario.tokens === 'distinct' ? distinct : [token];
        // Warm-up: V8 optimises hot functions by call counts, not time, so a fixed count warms alike
        // under valgrind; at least one pass over the distinct tokens fills the verified-token cache.
        if (rep === 0)
          await drive(server.url, scenario.path, tokens, Math.max(WARMUP, scenario.tokens === 'distinct' ? DISTINCT + 200 : 0));
        await server.call('gc', 'gcDone');
        const before = new Set(dumpFiles(spec.name));
        await callgrindControl(server, ['-i', 'on']);
        await callgrindControl(server, ['-z']);
        const gcBefore = { ...server.gcEvents };
        await drive(server.url, scenario.path, tokens, REQUESTS, 7);
        const gcs = {
          scavenge: server.gcEvents.scavenge - gcBefore.scavenge,
          markCompact: server.gcEvents.markCompact - gcBefore.markCompact,
        };
        const hint = `case-${spec.name}-${scenario.name.replace(/[^a-z0-9]+/gi, '-')}`;
        await callgrindControl(server, [`--dump=${hint}`]);
        await callgrindControl(server, ['-i', 'off']);
        const created = dumpFiles(spec.name).filter((f) => !before.has(f));
        const main = created.filter((f) => /-0*1$/.test(f));
        if (main.length !== 1) throw new Error(`${spec.name}: expected one new main-thread dump, found ${created.join(', ') || 'none'}`);
        // libuv's thread pool does request work off the main thread (jose 4, in express-oauth2-jwt-bearer,
        // verifies signatures with the callback form of crypto.verify): counted in the figure. The
        // other threads are V8's (the optimising compiler): beside it.
        const others = created.filter((f) => f !== main[0]);
        const pool = others.filter((f) => isThreadPool(join(OUT_DIR, f)));
        const sum = (files: string[]) => files.reduce((n, f) => n + instructionsIn(join(OUT_DIR, f)), 0) / REQUESTS;
        const threadPool = sum(pool);
        const perRequest = instructionsIn(join(OUT_DIR, main[0]!)) / REQUESTS + threadPool;
        const otherThreads = sum(others.filter((f) => !pool.includes(f)));
        rows.push({ app: spec.name, scenario: scenario.name, instructionsPerRequest: perRequest, threadPool, otherThreads, gcs });
        console.log(
          `${spec.name.padEnd(16)} ${scenario.name.padEnd(22)} ${fmtM(perRequest).padStart(10)} instructions/request  (of which thread pool ${fmtM(threadPool)}; V8 threads ${fmtM(otherThreads)}; ${gcs.scavenge} scavenges, ${gcs.markCompact} mark-compacts; ${main[0]})`,
        );
      }
  } finally {
    await server.stop();
  }
  console.log(`${spec.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s under valgrind`);
  return rows;
}

interface Bound {
  /** `a / b` of two rows, each `app|scenario`. */
  ratio: [string, string];
  max: number;
  why: string;
}

function ratioOf(rows: Row[], key: string): number | undefined {
  const [app, scenario] = key.split('|');
  return rows.find((r) => r.app === app && r.scenario === scenario)?.instructionsPerRequest;
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed (apt-get install valgrind)');
  const started = Date.now();
  mkdirSync(OUT_DIR, { recursive: true });
  const issuer = await startDevIssuer();
  const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  const distinct = await distinctTokens(issuer, DISTINCT);
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_AUDIENCE: DOCUMENTS_API_AUDIENCE, BENCH_JWKS_URI: issuer.jwksUri };
  const valgrindVersion = spawnSync('valgrind', ['--version']).stdout.toString().trim();
  console.log(
    `node ${process.version}, ${valgrindVersion}, ${cpus()[0]?.model}; ${WARMUP} warm-up + ${REQUESTS} measured requests per scenario, concurrency ${CONCURRENCY}\n`,
  );

  const rows: Row[] = [];
  try {
    for (const app of APPS) rows.push(...(await measureApp(app, env, token, distinct)));
  } finally {
    await issuer.close();
  }

  console.log('\n| app | unguarded | guarded, 1 token | guarded, 1000 tokens |\n|---|--:|--:|--:|');
  for (const app of APPS) {
    const cell = (s: Scenario['name']) => {
      const v = ratioOf(rows, `${app.name}|${s}`);
      return v === undefined ? '—' : fmtM(v);
    };
    console.log(`| ${app.name} | ${cell('unguarded')} | ${cell('guarded, 1 token')} | ${cell('guarded, 1000 tokens')} |`);
  }

  const bounds = JSON.parse(readFileSync(BOUNDS_FILE, 'utf8')) as Bound[];
  let failed = 0;
  console.log('\n| ratio of instructions per request | measured | bound |\n|---|--:|--:|');
  for (const b of bounds) {
    const a = ratioOf(rows, b.ratio[0]);
    const c = ratioOf(rows, b.ratio[1]);
    if (a === undefined || c === undefined) continue;
    const ok = a / c <= b.max;
    if (!ok) failed++;
    console.log(`| ${b.ratio[0]} / ${b.ratio[1]} | ${(a / c).toFixed(2)} | ≤ ${b.max}${ok ? '' : ' **EXCEEDED**'} |`);
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`\n${seconds.toFixed(0)} s in all`);
  writeFileSync(
    join(root, '.tmp', `bench-instr-${process.pid}.json`),
    JSON.stringify({ node: process.version, requests: REQUESTS, warmup: WARMUP, concurrency: CONCURRENCY, rows, seconds }, null, 2),
  );
  if (CHECK && failed > 0) {
    console.error(`${failed} instruction-count ratio(s) above their bound (${BOUNDS_FILE}): a per-request cost regressed`);
    process.exitCode = 1;
  }
}

await main();
