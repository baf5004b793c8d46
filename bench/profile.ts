/**
 * Where a request's CPU time goes, by component, under real HTTP load (Linux `perf`, see bench/README.md):
 *
 *   npm run bench:profile                           # the service on Fastify: /health, guarded (1 and 1000 tokens), /health at the guarded rate
 *   npm run bench:profile -- --duration 8 --connections 50
 *
 * One server (bench/server.ts, `--app real`, i.e. the whole service as main.ts builds it) with
 * `--perf-basic-prof` (V8 writes its JIT symbols to /tmp/perf-<pid>.map), pinned to core 0; the load
 * generator (bench/load-generator.ts) on core 1. For each cell: a warm-up, then `perf record -e
 * cpu-clock -g` on the server for the middle of a fixed-duration run. Every sample's stack is put in
 * the first bucket whose pattern one of its frames matches (list below, in order), and each bucket
 * is shown in µs of server CPU per request (samples × sampling period ÷ requests answered in the
 * recorded window). Kernel frames are included: `perf` samples the kernel side of the server's
 * system calls too.
 *
 * The last cell answers `/health` at the guarded cell's request rate (autocannon's `overallRate`): a
 * server that is slower per request serves fewer requests per event-loop turn and wakes the idle
 * load generator more often, so part of a per-request difference at saturation is the rate, not the
 * route. Comparing the guarded cells with it separates the two.
 *
 * Needs `perf` (Debian package linux-perf) and permission to profile (root, or
 * kernel.perf_event_paranoid ≤ 1). No figure here is asserted anywhere: it prints and writes
 * .tmp/bench-profile.json.
 */
import 'reflect-metadata';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { hasTaskset, option, pinned, runLoad } from './harness.js';
import type { LoadSpec } from './load-generator.js';
import { distinctTokens } from './tokens.js';

const here = dirname(fileURLToPath(import.meta.url));

const DURATION = Number(option('duration', '8'));
const WARMUP = Number(option('warmup', '3'));
const CONNECTIONS = Number(option('connections', '50'));
const FREQUENCY = 1999; // samples per second (an odd rate, so sampling does not lock onto a timer)
/** Seconds cut from each end of the run before recording starts and after it stops. */
const MARGIN = 1;

/**
 * Buckets, first match wins (a sample counts once): what only a guarded request does first, then
 * the system calls, then the layers every request goes through.
 */
const BUCKETS: Array<[string, RegExp]> = [
  ['garbage collection (main thread)', /Heap::CollectGarbage|Scavenger|MarkCompact|IncrementalMarking/],
  ['auth guard (GlobalAuthGuard: token cache hit, scopes)', /global-auth\.guard\.js|guards-consumer\.js/],
  ['access line (built and formatted)', /writeAccessLine/],
  ['log batch written (join + write)', /flushSync/],
  ['metrics middleware', /http-metrics\.middleware/],
  ['kernel: response write (writev, TCP, waking the client)', /__writev|__GI___writev/],
  ['kernel: request read', /tcp_recvmsg|sock_read_iter|ksys_read/],
  ['kernel: epoll wait', /do_epoll_wait|ep_poll/],
  ['Nest handler (pipes, handler, interceptors, reply)', /router-execution-context\.js/],
  ['Fastify routing and hooks', /preRouting|routeHandler/],
  ['HTTP parsing and the rest of the request', /llhttp|parserOn/],
  ['microtasks (outside the above)', /RunMicrotasks|processTicksAndRejections/],
];
const OTHER = 'other (timers, event loop, idle)';

interface Cell {
  name: string;
  path: string;
  tokens: LoadSpec['tokens'];
  /** Requests per second to hold, from another cell's measured rate (undefined: as fast as it answers). */
  rateOf?: string;
}

interface Profile {
  cell: string;
  rps: number;
  requests: number;
  samples: number;
  /** µs of server CPU per request, by bucket. */
  buckets: Record<string, number>;
  total: number;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}: ${err.trim().slice(-500)}`)),
    );
  });
}

/** perf script's stacks (leaf first, one frame per line, a blank line between samples) into bucket counts. */
function bucketSamples(script: string): { counts: Map<string, number>; samples: number } {
  const counts = new Map<string, number>();
  let samples = 0;
  let frames: string[] = [];
  const close = () => {
    if (frames.length === 0) return;
    samples++;
    const bucket = BUCKETS.find(([, pattern]) => frames.some((f) => pattern.test(f)))?.[0] ?? OTHER;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    frames = [];
  };
  for (const line of script.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') close();
    else frames.push(trimmed);
  }
  close();
  return { counts, samples };
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  if (spawnSync('perf', ['--version']).status !== 0) throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const issuer = await startDevIssuer();
  const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  mkdirSync('.tmp', { recursive: true });
  const tokensFile = join('.tmp', 'bench-profile-tokens.txt');
  writeFileSync(tokensFile, `${(await distinctTokens(issuer, 1000)).join('\n')}\n`, { mode: 0o600 });
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_AUDIENCE: DOCUMENTS_API_AUDIENCE, BENCH_JWKS_URI: issuer.jwksUri };
  const server = pinned(0, join(here, 'server.js'), ['--app', 'real', '--platform', 'fastify'], env, 'ignore', ['--perf-basic-prof']);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('message', (m: { port: number }) => resolve(m.port));
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const pid = server.pid!;
  const url = `http://127.0.0.1:${port}`;
  const cells: Cell[] = [
    { name: 'unguarded (/health)', path: '/health', tokens: { kind: 'one', token } },
    { name: 'guarded, repeated token', path: '/internal/documents/1', tokens: { kind: 'one', token } },
    { name: 'guarded, 1000 distinct tokens', path: '/internal/documents/1', tokens: { kind: 'file', path: tokensFile } },
    { name: 'unguarded at the guarded rate', path: '/health', tokens: { kind: 'one', token }, rateOf: 'guarded, repeated token' },
  ];
  const profiles: Profile[] = [];
  const dataFile = join('.tmp', 'bench-profile.perf.data');
  try {
    // One unrecorded run of every route and token set first (as http.bench.ts does): without it the
    // first guarded cell carried the JIT's and the caches' first contact with guarded requests, and
    // read ~10 µs above the second although it does no more work.
    for (const cell of cells.filter((c) => c.rateOf === undefined))
      await runLoad({ url, path: cell.path, tokens: cell.tokens, connections: CONNECTIONS, warmupSeconds: 0, durationSeconds: DURATION });
    for (const cell of cells) {
      const rate = cell.rateOf === undefined ? undefined : Math.round(profiles.find((p) => p.cell === cell.rateOf)!.rps);
      const spec: LoadSpec = {
        url,
        path: cell.path,
        tokens: cell.tokens,
        connections: CONNECTIONS,
        warmupSeconds: WARMUP,
        durationSeconds: DURATION,
        rate,
      };
      const loading = runLoad(spec);
      // Record the middle of the measured run: after the warm-up and a margin, until a margin before its end.
      await new Promise((r) => setTimeout(r, (WARMUP + MARGIN) * 1000));
      const recorded = DURATION - 2 * MARGIN;
      await run('perf', [
        'record',
        '-F',
        String(FREQUENCY),
        '-e',
        'cpu-clock',
        '-g',
        '-p',
        String(pid),
        '-o',
        dataFile,
        '--',
        'sleep',
        String(recorded),
      ]);
      const result = await loading;
      if (result.non2xx + result.errors + result.timeouts > 0)
        throw new Error(`${cell.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      const script = await run('perf', ['script', '-i', dataFile, '-F', 'ip,sym']);
      const { counts, samples } = bucketSamples(script);
      const requests = result.rps * recorded;
      const us = (n: number) => (n / FREQUENCY / requests) * 1e6;
      const buckets = Object.fromEntries([...BUCKETS.map(([b]) => b), OTHER].map((b) => [b, us(counts.get(b) ?? 0)]));
      profiles.push({ cell: cell.name, rps: result.rps, requests, samples, buckets, total: us(samples) });
      console.log(
        `${cell.name}: ${Math.round(result.rps)} req/s${rate ? ` (held at ${rate})` : ''}, ${samples} samples, ${us(samples).toFixed(1)} µs/req`,
      );
    }
  } finally {
    server.disconnect();
    await new Promise((r) => server.once('exit', r));
    rmSync(dataFile, { force: true });
    rmSync(`/tmp/perf-${pid}.map`, { force: true });
    await issuer.close();
  }

  const fmt = (n: number) => n.toFixed(1);
  console.log(`\n| µs of server CPU per request | ${profiles.map((p) => p.cell).join(' | ')} |`);
  console.log(`|---|${profiles.map(() => '--:').join('|')}|`);
  console.log(`| requests/s | ${profiles.map((p) => Math.round(p.rps).toLocaleString('en-US')).join(' | ')} |`);
  for (const bucket of [...BUCKETS.map(([b]) => b), OTHER])
    console.log(`| ${bucket} | ${profiles.map((p) => fmt(p.buckets[bucket]!)).join(' | ')} |`);
  console.log(`| **total** | ${profiles.map((p) => `**${fmt(p.total)}**`).join(' | ')} |`);
  writeFileSync(
    join('.tmp', 'bench-profile.json'),
    JSON.stringify({ node: process.version, duration: DURATION, connections: CONNECTIONS, profiles }, null, 2),
  );
}

await main();
