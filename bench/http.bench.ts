/**
 * HTTP benchmark of the guarded path (see bench/README.md):
 *
 *   npm run bench                      # 8 rounds of 3 s runs (each after 1 s of warm-up), 50 connections
 *   npm run bench -- --rounds 8 --duration 3 --warmup 1 --connections 50 --apps service-fastify,textbook,oauth2-bearer,ours-fastify
 *
 * Cells: for each app, an unguarded route, the guarded route with one repeated token, and the
 * guarded route with 1000 distinct valid tokens round-robin. Every ratio is settled in interleaved
 * groups of short runs: the cells it compares are measured back to back (A,B,C, then B,C,A, …, the
 * order rotated each round), the ratio is taken within each round, and the figure is the median of
 * those per-round ratios. Drift on the VM (another job starting, the host's turbo) moves the cells of
 * one round alike, so it cancels in the ratio; a median of absolute figures over minutes would not.
 * Groups: each app's three cells (guarded/unguarded, p99 ratios), and the guarded-1000-tokens cells
 * of every app side by side (the service against the textbook app and express-oauth2-jwt-bearer).
 * All app servers run at once, each in its own process pinned to core 0 (only the one under load
 * works); each load generator runs in its own process pinned to core 1 (`taskset`, when the machine
 * has it); the dev issuer runs here, on 127.0.0.1. Prints the per-cell medians, the ratios and the
 * targets; writes everything to .tmp/bench-http.json.
 */
import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { hasTaskset, option, pinned, runLoad } from './harness.js';
import type { LoadResult, LoadSpec } from './load-generator.js';
import { distinctTokens } from './tokens.js';

const here = dirname(fileURLToPath(import.meta.url));

const DURATION = Number(option('duration', '3'));
/**
 * Seconds of load before each measured run, in the same load-generator process (not counted): a
 * fresh autocannon process starts with a cold JIT, and its first responses would be the run's p99.
 */
const WARMUP = Number(option('warmup', '1'));
const ROUNDS = Number(option('rounds', '8'));
const CONNECTIONS = Number(option('connections', '50'));
const DISTINCT = 1000;

interface AppSpec {
  name: string;
  app: 'ours' | 'textbook' | 'real' | 'oauth2-bearer';
  platform: 'express' | 'fastify';
  unguarded: string;
  guarded: string;
}

const ALL_APPS: AppSpec[] = [
  { name: 'ours-fastify', app: 'ours', platform: 'fastify', unguarded: '/public', guarded: '/guarded' },
  { name: 'ours-express', app: 'ours', platform: 'express', unguarded: '/public', guarded: '/guarded' },
  { name: 'textbook', app: 'textbook', platform: 'express', unguarded: '/public', guarded: '/guarded' },
  { name: 'service-fastify', app: 'real', platform: 'fastify', unguarded: '/health', guarded: '/internal/documents/1' },
  { name: 'service-express', app: 'real', platform: 'express', unguarded: '/health', guarded: '/internal/documents/1' },
  { name: 'oauth2-bearer', app: 'oauth2-bearer', platform: 'express', unguarded: '/public', guarded: '/guarded' },
];
/** The default run (about 9 minutes on an idle machine): the service as shipped and the two baselines of issue 10. */
const DEFAULT_APPS = ['service-fastify', 'textbook', 'oauth2-bearer'];
const wanted = option('apps', DEFAULT_APPS.join(',')).split(',');
const APPS = ALL_APPS.filter((a) => wanted.includes(a.name));

/** Server CPU time in µs: the whole process, and its main thread (user, system) where /proc tells. */
interface CpuTimes {
  total: number;
  main?: { user: number; system: number };
}

interface Server {
  url: string;
  cpuMicros: () => Promise<CpuTimes>;
  stop: () => Promise<void>;
}

async function startServer(spec: AppSpec, env: NodeJS.ProcessEnv): Promise<Server> {
  const child = pinned(0, join(here, 'server.js'), ['--app', spec.app, '--platform', spec.platform], env, 'ignore');
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${spec.name}: server did not start within 60 s`)), 60_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name}: server exited with ${code}`));
    });
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.disconnect();
    });
  const cpuMicros = () =>
    new Promise<CpuTimes>((resolve) => {
      const onMessage = (m: { cpuMicros?: number; main?: { user: number; system: number } }) => {
        if (m.cpuMicros === undefined) return;
        child.off('message', onMessage);
        resolve({ total: m.cpuMicros, main: m.main });
      };
      child.on('message', onMessage);
      child.send('cpu');
    });
  return { url: `http://127.0.0.1:${port}`, cpuMicros, stop };
}

async function expectStatus(url: string, token: string | undefined, status: number): Promise<void> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`${url} answered ${res.status}, expected ${status}`);
}

type Scenario = 'unguarded' | 'guarded, repeated token' | `guarded, ${number} distinct tokens`;
const SCENARIOS: Scenario[] = ['unguarded', 'guarded, repeated token', `guarded, ${DISTINCT} distinct tokens`];

/** One app's route under one kind of token: the unit that is measured. */
interface Cell {
  app: string;
  scenario: Scenario;
  spec: LoadSpec;
  server: Server;
}

interface Run {
  app: string;
  scenario: Scenario;
  /** Which group and round the run belongs to (its ratios are taken within the round). */
  group: string;
  round: number;
  result: LoadResult;
  /** Server CPU time per request (user + system): robust against other load. */
  cpuPerRequest: number;
  /** The same split: main thread user, main thread system, other threads (V8's and libuv's); 10 ms ticks. */
  cpuSplit?: { mainUser: number; mainSystem: number; otherThreads: number };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Answers other than 2xx, connection errors and timeouts (10 s): printed, not fatal (a starved VM times out). */
const failures = (r: LoadResult) => r.non2xx + r.errors + r.timeouts;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const key = (app: string, scenario: Scenario) => `${app}|${scenario}`;

async function measureCell(
  cell: Cell,
  durationSeconds: number,
  warmupSeconds: number,
): Promise<Pick<Run, 'result' | 'cpuPerRequest' | 'cpuSplit'>> {
  const before = await cell.server.cpuMicros();
  const result = await runLoad({ ...cell.spec, durationSeconds, warmupSeconds });
  const after = await cell.server.cpuMicros();
  const n = result.requests + result.warmupRequests;
  const cpuPerRequest = (after.total - before.total) / n;
  if (!before.main || !after.main) return { result, cpuPerRequest };
  const mainUser = (after.main.user - before.main.user) / n;
  const mainSystem = (after.main.system - before.main.system) / n;
  return { result, cpuPerRequest, cpuSplit: { mainUser, mainSystem, otherThreads: cpuPerRequest - mainUser - mainSystem } };
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const issuer = await startDevIssuer();
  const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  const distinct = await distinctTokens(issuer, DISTINCT);
  mkdirSync('.tmp', { recursive: true });
  const tokensFile = join('.tmp', 'bench-tokens.txt');
  writeFileSync(tokensFile, `${distinct.join('\n')}\n`, { mode: 0o600 });
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_AUDIENCE: DOCUMENTS_API_AUDIENCE, BENCH_JWKS_URI: issuer.jwksUri };

  console.log(
    `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), taskset ${hasTaskset ? 'yes: servers on core 0, load on core 1' : 'not available'}`,
  );
  console.log(
    `${ROUNDS} rounds of ${DURATION} s runs (each after ${WARMUP} s of unrecorded load) per group, ${CONNECTIONS} connections; ratios are medians of per-round ratios\n`,
  );

  const services = APPS.filter((a) => a.app === 'real').map((a) => a.name);
  const baselines = APPS.filter((a) => a.app === 'textbook' || a.app === 'oauth2-bearer').map((a) => a.name);
  const servers: Server[] = [];
  const runs: Run[] = [];
  try {
    const cells = new Map<string, Cell>();
    for (const app of APPS) {
      const server = await startServer(app, env);
      servers.push(server);
      await expectStatus(`${server.url}${app.unguarded}`, undefined, 200);
      await expectStatus(`${server.url}${app.guarded}`, token, 200);
      await expectStatus(`${server.url}${app.guarded}`, undefined, 401);
      const base = { url: server.url, connections: CONNECTIONS, warmupSeconds: 0, durationSeconds: DURATION };
      // The unguarded route gets the same request bytes (the same Authorization header, which it
      // ignores): with ~1 KB more per request the single-core load generator itself slows down, so
      // a header-less baseline would measure request size, not the guard's work.
      const specs: LoadSpec[] = [
        { ...base, path: app.unguarded, tokens: { kind: 'one', token } },
        { ...base, path: app.guarded, tokens: { kind: 'one', token } },
        { ...base, path: app.guarded, tokens: { kind: 'file', path: tokensFile } },
      ];
      SCENARIOS.forEach((scenario, i) => cells.set(key(app.name, scenario), { app: app.name, scenario, spec: specs[i]!, server }));
    }
    // One unrecorded run per cell first: the servers' JIT, and the distinct tokens into the verified-token caches.
    for (const cell of cells.values()) await measureCell(cell, DURATION, WARMUP);

    const distinctScenario = SCENARIOS[2]!;
    const groups: Array<{ name: string; cells: Cell[] }> = APPS.map((a) => ({
      name: a.name,
      cells: SCENARIOS.map((s) => cells.get(key(a.name, s))!),
    }));
    if (services.length && baselines.length)
      groups.push({ name: 'side by side', cells: [...services, ...baselines].map((a) => cells.get(key(a, distinctScenario))!) });

    for (let round = 0; round < ROUNDS; round++) {
      for (const group of groups) {
        const n = group.cells.length;
        const order = [...group.cells.slice(round % n), ...group.cells.slice(0, round % n)];
        for (const cell of order) {
          const { result, cpuPerRequest, cpuSplit } = await measureCell(cell, DURATION, WARMUP);
          runs.push({ app: cell.app, scenario: cell.scenario, group: group.name, round, result, cpuPerRequest, cpuSplit });
          const split = cpuSplit
            ? ` (main ${fmt(cpuSplit.mainUser, 1)} user + ${fmt(cpuSplit.mainSystem, 1)} sys, other threads ${fmt(cpuSplit.otherThreads, 1)})`
            : '';
          console.log(
            `round ${round + 1}/${ROUNDS} ${cell.app.padEnd(16)} ${cell.scenario.padEnd(30)} ${fmt(result.rps).padStart(8)} req/s  p50 ${fmt(result.p50, 2).padStart(6)} ms  p99 ${fmt(result.p99, 2).padStart(6)} ms  cpu ${fmt(cpuPerRequest, 1).padStart(6)} µs/req${split}${failures(result) ? `  (${failures(result)} non-2xx/errors/timeouts!)` : ''}`,
          );
        }
      }
    }
  } finally {
    for (const server of servers) await server.stop();
    await issuer.close();
  }

  // Per cell: the median of each figure over all its runs (in its own group and side by side).
  console.log(
    '\n| app | route | req/s | p50 ms | p99 ms | server CPU µs/req | main thread user / system, other threads | runs | failed requests |\n|---|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  const cellFigures: Array<{
    app: string;
    scenario: Scenario;
    rps: number;
    p50: number;
    p99: number;
    cpuPerRequest: number;
    cpuSplit?: { mainUser: number; mainSystem: number; otherThreads: number };
    runs: number;
    failed: number;
  }> = [];
  for (const app of APPS)
    for (const scenario of SCENARIOS) {
      const rs = runs.filter((r) => r.app === app.name && r.scenario === scenario);
      if (!rs.length) continue;
      const f = {
        app: app.name,
        scenario,
        rps: median(rs.map((r) => r.result.rps)),
        p50: median(rs.map((r) => r.result.p50)),
        p99: median(rs.map((r) => r.result.p99)),
        cpuPerRequest: median(rs.map((r) => r.cpuPerRequest)),
        cpuSplit: rs.every((r) => r.cpuSplit)
          ? {
              mainUser: median(rs.map((r) => r.cpuSplit!.mainUser)),
              mainSystem: median(rs.map((r) => r.cpuSplit!.mainSystem)),
              otherThreads: median(rs.map((r) => r.cpuSplit!.otherThreads)),
            }
          : undefined,
        runs: rs.length,
        failed: rs.reduce((n, r) => n + failures(r.result), 0),
      };
      cellFigures.push(f);
      const split = f.cpuSplit
        ? `${fmt(f.cpuSplit.mainUser, 1)} / ${fmt(f.cpuSplit.mainSystem, 1)}, ${fmt(f.cpuSplit.otherThreads, 1)}`
        : '—';
      console.log(
        `| ${f.app} | ${scenario} | ${fmt(f.rps)} | ${fmt(f.p50, 2)} | ${fmt(f.p99, 2)} | ${fmt(f.cpuPerRequest, 1)} | ${split} | ${f.runs} | ${f.failed} |`,
      );
    }

  /** The median over rounds of `figure(a) / figure(b)`, both runs taken from the same round of `group`. */
  const pairRatio = (group: string, a: [string, Scenario], b: [string, Scenario], figure: (r: Run) => number) => {
    const perRound: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ra = runs.find((r) => r.group === group && r.round === round && r.app === a[0] && r.scenario === a[1]);
      const rb = runs.find((r) => r.group === group && r.round === round && r.app === b[0] && r.scenario === b[1]);
      if (ra && rb) perRound.push(figure(ra) / figure(rb));
    }
    return perRound.length ? { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound) } : undefined;
  };
  const rps = (r: Run) => r.result.rps;
  const p99 = (r: Run) => r.result.p99;
  const cpu = (r: Run) => r.cpuPerRequest;
  const range = (x: { min: number; max: number }) => `${fmt(x.min, 2)}–${fmt(x.max, 2)}`;

  interface Ratio {
    what: string;
    median: number;
    min: number;
    max: number;
    wanted?: string;
    met?: boolean;
  }
  const ratios: Ratio[] = [];
  const add = (what: string, x: { median: number; min: number; max: number } | undefined, wanted?: [string, (v: number) => boolean]) => {
    if (x) ratios.push({ what, ...x, wanted: wanted?.[0], met: wanted?.[1](x.median) });
  };
  const [u, g1, gN] = SCENARIOS as [Scenario, Scenario, Scenario];
  for (const app of APPS) {
    const issue10 = app.app === 'real';
    // ours-*: the targets of the guard's own issue; service-*: those of issue 10.
    const ge = (t: number): [string, (v: number) => boolean] => [`≥ ${t}`, (v) => v >= t];
    const le = (t: number): [string, (v: number) => boolean] => [`≤ ${t}`, (v) => v <= t];
    const own = app.app === 'ours' || issue10;
    add(
      `${app.name}: req/s guarded, repeated token / unguarded`,
      pairRatio(app.name, [app.name, g1], [app.name, u], rps),
      own ? ge(issue10 ? 0.9 : 0.95) : undefined,
    );
    add(
      `${app.name}: req/s guarded, ${DISTINCT} tokens / unguarded`,
      pairRatio(app.name, [app.name, gN], [app.name, u], rps),
      own ? ge(issue10 ? 0.9 : 0.85) : undefined,
    );
    add(
      `${app.name}: p99 guarded, repeated token / unguarded`,
      pairRatio(app.name, [app.name, g1], [app.name, u], p99),
      own ? le(1.2) : undefined,
    );
    add(
      `${app.name}: p99 guarded, ${DISTINCT} tokens / unguarded`,
      pairRatio(app.name, [app.name, gN], [app.name, u], p99),
      own ? le(1.2) : undefined,
    );
  }
  const wantedOver: Record<string, number> = { textbook: 5, 'oauth2-bearer': 2 };
  for (const service of services)
    for (const baseline of baselines) {
      add(`${service} / ${baseline}: req/s guarded, ${DISTINCT} tokens`, pairRatio('side by side', [service, gN], [baseline, gN], rps), [
        `≥ ${wantedOver[baseline]}`,
        (v) => v >= wantedOver[baseline]!,
      ]);
      // The same comparison in server CPU per request (baseline / service): less sensitive to a starved VM.
      add(
        `${baseline} / ${service}: server CPU µs per request, guarded, ${DISTINCT} tokens`,
        pairRatio('side by side', [baseline, gN], [service, gN], cpu),
      );
    }

  console.log('\n| ratio (median of per-round ratios) | median | range over rounds | target | met |\n|---|---:|---|---|---|');
  for (const r of ratios)
    console.log(
      `| ${r.what} | ${fmt(r.median, 2)} | ${range(r)} | ${r.wanted ?? '—'} | ${r.met === undefined ? '—' : r.met ? 'yes' : 'NO'} |`,
    );
  writeFileSync(
    join('.tmp', 'bench-http.json'),
    JSON.stringify(
      {
        node: process.version,
        duration: DURATION,
        warmup: WARMUP,
        rounds: ROUNDS,
        connections: CONNECTIONS,
        cells: cellFigures,
        ratios,
        runs,
      },
      null,
      2,
    ),
  );
}

await main();
