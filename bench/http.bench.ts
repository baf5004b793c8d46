/**
 * HTTP benchmark of the guarded path (see bench/README.md):
 *
 *   npm run bench                      # 3 rounds of 6 s measurements, 2 s warm-up, 50 connections
 *   npm run bench -- --rounds 3 --duration 6 --warmup 2 --connections 50 --apps ours-fastify,textbook
 *
 * In one run: for each app, an unguarded route, the guarded route with one repeated token, and the
 * guarded route with 1000 distinct valid tokens round-robin, measured in several rounds that rotate
 * the order of the three; each figure is the median over the rounds (single runs on this VM swing
 * by ±30 %, and drift over a run would otherwise favour whichever scenario ran first). Each app server runs in its own process
 * pinned to core 0 and each load generator in its own process pinned to core 1 (`taskset`, when the
 * machine has it); the dev issuer runs here, on 127.0.0.1. Prints a table, the ratios, and whether
 * the targets are met; writes the figures to .tmp/bench-http.json.
 */
import 'reflect-metadata';
import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import type { LoadResult, LoadSpec } from './load-generator.js';

const here = dirname(fileURLToPath(import.meta.url));

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

const DURATION = Number(option('duration', '6'));
const WARMUP = Number(option('warmup', '2'));
const ROUNDS = Number(option('rounds', '3'));
const CONNECTIONS = Number(option('connections', '50'));
const DISTINCT = 1000;

interface AppSpec {
  name: string;
  app: 'ours' | 'textbook' | 'real';
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
];
const wanted = option('apps', ALL_APPS.map((a) => a.name).join(',')).split(',');
const APPS = ALL_APPS.filter((a) => wanted.includes(a.name));

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** Node started under `taskset -c <core>` when the machine has it. */
function pinned(core: number, script: string, args: string[], env: NodeJS.ProcessEnv, stdio: 'ignore' | 'pipe'): ChildProcess {
  const execPath = hasTaskset ? 'taskset' : process.execPath;
  const execArgv = hasTaskset ? ['-c', String(core), process.execPath] : [];
  // fork() with taskset as the "node" binary: taskset execs node with the IPC channel inherited.
  return fork(script, args, { execPath, execArgv, env, stdio: ['ignore', stdio, 'inherit', 'ipc'] });
}

interface Server {
  url: string;
  cpuMicros: () => Promise<number>;
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
    new Promise<number>((resolve) => {
      const onMessage = (m: { cpuMicros?: number }) => {
        if (m.cpuMicros === undefined) return;
        child.off('message', onMessage);
        resolve(m.cpuMicros);
      };
      child.on('message', onMessage);
      child.send('cpu');
    });
  return { url: `http://127.0.0.1:${port}`, cpuMicros, stop };
}

function measure(spec: LoadSpec): Promise<LoadResult> {
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

async function expectStatus(url: string, token: string | undefined, status: number): Promise<void> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.arrayBuffer();
  if (res.status !== status) throw new Error(`${url} answered ${res.status}, expected ${status}`);
}

interface Row {
  app: string;
  scenario: 'unguarded' | 'guarded, repeated token' | `guarded, ${number} distinct tokens`;
  result: LoadResult;
  /** Server CPU time per request (user + system), warm-up included: robust against other load. */
  cpuPerRequest: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One row per app and scenario: the median of each figure over the rounds. */
function medians(rows: Row[]): Row[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(`${r.app}|${r.scenario}`, [...(groups.get(`${r.app}|${r.scenario}`) ?? []), r]);
  return [...groups.values()].map((g) => {
    const pick = (f: (r: Row) => number) => median(g.map(f));
    const result = { ...g[0]!.result, rps: pick((r) => r.result.rps), p50: pick((r) => r.result.p50), p99: pick((r) => r.result.p99) };
    result.non2xx = g.reduce((n, r) => n + r.result.non2xx, 0);
    return { app: g[0]!.app, scenario: g[0]!.scenario, result, cpuPerRequest: pick((r) => r.cpuPerRequest) };
  });
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  if (hasTaskset) spawnSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const issuer = await startDevIssuer();
  const token = await issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  const distinct = await Promise.all(
    Array.from({ length: DISTINCT }, () => issuer.controls.issueToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE })),
  );
  if (new Set(distinct).size !== DISTINCT) throw new Error('tokens are not distinct');
  mkdirSync('.tmp', { recursive: true });
  const tokensFile = join('.tmp', 'bench-tokens.txt');
  writeFileSync(tokensFile, `${distinct.join('\n')}\n`, { mode: 0o600 });
  const env = { ...process.env, BENCH_ISSUER: issuer.issuer, BENCH_AUDIENCE: DOCUMENTS_API_AUDIENCE, BENCH_JWKS_URI: issuer.jwksUri };

  console.log(
    `node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model}), taskset ${hasTaskset ? 'yes: servers on core 0, load on core 1' : 'not available'}`,
  );
  console.log(
    `${ROUNDS} rounds of ${DURATION} s measurements after ${WARMUP} s warm-up, ${CONNECTIONS} connections; figures are medians over the rounds\n`,
  );

  const measured: Row[] = [];
  for (const app of APPS) {
    const server = await startServer(app, env);
    try {
      await expectStatus(`${server.url}${app.unguarded}`, undefined, 200);
      await expectStatus(`${server.url}${app.guarded}`, token, 200);
      await expectStatus(`${server.url}${app.guarded}`, undefined, 401);
      const base = { url: server.url, connections: CONNECTIONS, warmupSeconds: WARMUP, durationSeconds: DURATION };
      const scenarios: Array<[Row['scenario'], LoadSpec]> = [
        // The unguarded route gets the same request bytes (the same Authorization header, which it
        // ignores): with ~1 KB more per request the single-core load generator itself slows down, so
        // a header-less baseline would measure request size, not the guard's work.
        ['unguarded', { ...base, path: app.unguarded, tokens: { kind: 'one', token } }],
        ['guarded, repeated token', { ...base, path: app.guarded, tokens: { kind: 'one', token } }],
        [`guarded, ${DISTINCT} distinct tokens`, { ...base, path: app.guarded, tokens: { kind: 'file', path: tokensFile } }],
      ];
      for (let round = 0; round < ROUNDS; round++) {
        for (const [scenario, spec] of [...scenarios.slice(round % 3), ...scenarios.slice(0, round % 3)]) {
          const cpuBefore = await server.cpuMicros();
          const result = await measure(spec);
          const cpuPerRequest = ((await server.cpuMicros()) - cpuBefore) / (result.requests + result.warmupRequests);
          measured.push({ app: app.name, scenario, result, cpuPerRequest });
          const bad = result.non2xx + result.errors + result.timeouts;
          console.log(
            `${app.name.padEnd(16)} ${scenario.padEnd(30)} ${fmt(result.rps).padStart(8)} req/s  p50 ${fmt(result.p50, 2).padStart(6)} ms  p99 ${fmt(result.p99, 2).padStart(6)} ms  cpu ${fmt(cpuPerRequest, 1).padStart(6)} µs/req${bad ? `  (${bad} non-2xx/errors!)` : ''}`,
          );
        }
      }
    } finally {
      await server.stop();
    }
  }
  await issuer.close();
  const rows = medians(measured);

  const find = (app: string, prefix: string) => rows.find((r) => r.app === app && r.scenario.startsWith(prefix))?.result;
  console.log('\n| app | route | req/s | p50 ms | p99 ms | server CPU µs/req |\n|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.app} | ${r.scenario} | ${fmt(r.result.rps)} | ${fmt(r.result.p50, 2)} | ${fmt(r.result.p99, 2)} | ${fmt(r.cpuPerRequest, 1)} |`,
    );
  }

  console.log(
    '\n| app | guarded/unguarded, repeated | guarded/unguarded, distinct | p99 guarded/unguarded (repeated) |\n|---|---:|---:|---:|',
  );
  for (const app of APPS) {
    const u = find(app.name, 'unguarded');
    const g = find(app.name, 'guarded, repeated');
    const d = find(app.name, 'guarded, 1000');
    if (u && g && d) console.log(`| ${app.name} | ${fmt(g.rps / u.rps, 2)} | ${fmt(d.rps / u.rps, 2)} | ${fmt(g.p99 / u.p99, 2)} |`);
  }

  const text = find('textbook', 'guarded, repeated');
  const targets: Array<[string, number, string, boolean]> = [];
  for (const name of ['ours-fastify', 'ours-express']) {
    const u = find(name, 'unguarded');
    const g = find(name, 'guarded, repeated');
    const d = find(name, 'guarded, 1000');
    if (!u || !g || !d) continue;
    targets.push([`${name}: guarded/unguarded, repeated token`, g.rps / u.rps, '≥ 0.95', g.rps / u.rps >= 0.95]);
    targets.push([`${name}: guarded/unguarded, ${DISTINCT} distinct tokens`, d.rps / u.rps, '≥ 0.85', d.rps / u.rps >= 0.85]);
    if (text) targets.push([`${name}: guarded (repeated) / textbook guarded`, g.rps / text.rps, '≥ 3', g.rps / text.rps >= 3]);
    targets.push([`${name}: p99 guarded/unguarded, repeated token`, g.p99 / u.p99, '≤ 1.2', g.p99 / u.p99 <= 1.2]);
    targets.push([`${name}: p99 guarded/unguarded, distinct tokens`, d.p99 / u.p99, '≤ 1.2', d.p99 / u.p99 <= 1.2]);
  }
  if (targets.length) {
    console.log('\n| target | measured | wanted | met |\n|---|---:|---|---|');
    for (const [what, value, wantedText, met] of targets)
      console.log(`| ${what} | ${fmt(value, 2)} | ${wantedText} | ${met ? 'yes' : 'NO'} |`);
  }
  writeFileSync(
    join('.tmp', 'bench-http.json'),
    JSON.stringify({ node: process.version, duration: DURATION, warmup: WARMUP, connections: CONNECTIONS, rows, targets }, null, 2),
  );
}

await main();
