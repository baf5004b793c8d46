/**
 * Fleet: three replicas of the built service (`node dist/main.js`, NODE_ENV=production) behind a
 * small round-robin proxy on 127.0.0.1, sharing the local Redis for the token cache, under a steady
 * mix of guarded reads and create-then-delete cycles (each DELETE calls the audit sibling, through the
 * proxy, with the replica's own M2M token), while the replicas are restarted one by one as Kubernetes
 * does it: out of the proxy's rotation (endpoint removal), a pause (the preStop sleep), SIGTERM, wait
 * for exit 0, a new process, back in rotation once `/health/ready` answers 200.
 *
 *   npm run fleet                              # 20 s steady, restarts, 10 s steady
 *   npm run fleet -- --steady 4s --tail 2s     # CI
 *   npm run fleet -- --no-prestop              # SIGTERM while still in rotation for 1 s, to compare
 *
 * Prints requests sent and failed (a transport error, a 5xx, or any answer the operation does not
 * allow), the issuer's token requests for the whole fleet and JWKS fetches (the dev issuer's
 * counters), and p50/p99 during the restarts against the steady phases. Writes .tmp/fleet.json and
 * exits 1 when a request failed or a replica did not exit 0.
 *
 * Documents live in each replica's memory: a DELETE that the proxy sends to another replica than
 * its PUT (the hash over the replicas in rotation changed in between) is answered 404, counted as
 * `moved`, not as a failure; the proxy's `x-fleet-upstream` header tells which replica answered.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DOCUMENTS_API_AUDIENCE, startDevIssuer } from '@nest-m2m/dev-issuer';
import { devIssuerServiceEnv } from '../src/embedded.js';
import { freePort } from '../src/free-port.js';
import { option } from './harness.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

const flag = (name: string) => process.argv.includes(`--${name}`);
/** `20s`, `1m`, `500ms` or plain seconds, in ms. */
function ms(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`expected e.g. 20s, 1m, 500ms; got ${text}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

const REPLICAS = Number(option('replicas', '3'));
const WORKERS = Number(option('workers', '12'));
const STEADY_MS = ms(option('steady', '20s'));
const TAIL_MS = ms(option('tail', '10s'));
const NO_PRESTOP = flag('no-prestop');
const PRESTOP_MS = NO_PRESTOP ? 0 : ms(option('prestop', '1s'));
const PROPAGATION_MS = ms(option('propagation', '1s'));
const DELETE_SHARE = Number(option('delete-share', '0.25'));
const MAX_REQUESTS = 2_000_000; // a bound on the loops whatever the durations
const DEADLINE_MS = STEADY_MS + TAIL_MS + REPLICAS * 60_000 + 60_000;
const REQUEST_TIMEOUT_MS = 15_000;

type Phase = 'warmup' | 'steady' | 'restart' | 'tail';
let phase: Phase = 'warmup';

// --- replicas -----------------------------------------------------------------------------------
interface Replica {
  name: string;
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

function startReplica(name: string, port: number, env: Record<string, string>): Replica {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { name, port, child, exited, stderr: () => err };
}

async function waitReady(replica: Replica, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (replica.child.exitCode !== null) throw new Error(`${replica.name} exited ${replica.child.exitCode}: ${replica.stderr()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${replica.port}/health/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${replica.name} not ready after ${timeoutMs} ms: ${replica.stderr()}`);
}

// --- the proxy: what a Kubernetes Service does, round robin over the endpoints in rotation -------
const inRotation = new Set<Replica>();
const replicas: Replica[] = [];
const upstreamAgent = new Agent({ keepAlive: true, maxSockets: 256 });
let proxyErrors = 0;
let rr = 0;

function pick(path: string): Replica | undefined {
  const live = replicas.filter((r) => inRotation.has(r));
  if (live.length === 0) return undefined;
  // Create-then-delete cycles go to one replica (documents live in its memory).
  const doc = /^\/internal\/documents\/(fleet-[^/?]+)/.exec(path)?.[1];
  if (doc) return live[createHash('sha1').update(doc).digest().readUInt32BE(0) % live.length];
  return live[rr++ % live.length];
}

function proxy(req: IncomingMessage, res: ServerResponse): void {
  const upstream = pick(req.url ?? '/');
  if (!upstream) {
    proxyErrors++;
    res.writeHead(503, { 'content-type': 'text/plain' }).end('no upstream in rotation');
    return;
  }
  const out = request(
    { host: '127.0.0.1', port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: upstreamAgent },
    (up) => {
      res.writeHead(up.statusCode ?? 502, { ...up.headers, 'x-fleet-upstream': upstream.name });
      // A replica that closed the connection mid-answer: the caller sees a cut response.
      up.once('aborted', () => {
        proxyErrors++;
        res.destroy();
      });
      up.pipe(res);
    },
  );
  out.on('error', (err: NodeJS.ErrnoException) => {
    proxyErrors++;
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`upstream ${upstream.name}: ${err.code ?? err.message}`);
    else res.destroy();
  });
  req.pipe(out);
}

/**
 * Kubernetes' order with a preStop pause: out of rotation, the pause, SIGTERM. With `--no-prestop`,
 * what happens without one: SIGTERM at once while the balancer still sends traffic for as long as
 * endpoint removal takes to reach it (`--propagation`, default 1 s).
 */
async function rotateOut(replica: Replica): Promise<number> {
  if (NO_PRESTOP) {
    replica.child.kill('SIGTERM');
    const signalled = Date.now();
    await sleep(PROPAGATION_MS);
    inRotation.delete(replica);
    return signalled;
  }
  inRotation.delete(replica);
  await sleep(PRESTOP_MS);
  replica.child.kill('SIGTERM');
  return Date.now();
}

// --- load ------------------------------------------------------------------------------------------
interface Sample {
  phase: Phase;
  op: 'read' | 'put' | 'delete';
  ms: number;
  ok: boolean;
  moved?: boolean;
  detail?: string;
}
const samples: Sample[] = [];
let sent = 0;
let stop = false;

async function timed(url: string, init: RequestInit): Promise<{ status: number; upstream: string | null; ms: number; error?: string }> {
  const t0 = performance.now();
  sent++;
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    await res.arrayBuffer();
    return { status: res.status, upstream: res.headers.get('x-fleet-upstream'), ms: performance.now() - t0 };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { status: 0, upstream: null, ms: performance.now() - t0, error: e.cause?.code ?? e.name };
  }
}

async function worker(id: number, base: string, token: string): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  for (let n = 0; !stop && sent < MAX_REQUESTS; n++) {
    const p = phase;
    if (Math.random() >= DELETE_SHARE) {
      const r = await timed(`${base}/internal/documents/${1 + (n % 3)}`, { headers: auth });
      samples.push({ phase: p, op: 'read', ms: r.ms, ok: r.status === 200, detail: r.error ?? String(r.status) });
      continue;
    }
    const doc = `fleet-${id}-${n}`;
    const put = await timed(`${base}/internal/documents/${doc}`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `Fleet ${doc}`, body: 'to be deleted' }),
    });
    samples.push({ phase: p, op: 'put', ms: put.ms, ok: put.status === 201, detail: put.error ?? String(put.status) });
    if (put.status !== 201) continue;
    const del = await timed(`${base}/internal/documents/${doc}`, { method: 'DELETE', headers: auth });
    const moved = del.status === 404 && del.upstream !== null && del.upstream !== put.upstream;
    samples.push({
      phase: phase,
      op: 'delete',
      ms: del.ms,
      ok: del.status === 200 || moved,
      moved,
      detail: del.error ?? String(del.status),
    });
  }
}

function percentile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

// --- run -------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const hardStop = setTimeout(() => {
    console.error(`fleet: deadline of ${DEADLINE_MS} ms passed`);
    process.exit(2);
  }, DEADLINE_MS);
  hardStop.unref();

  const issuer = await startDevIssuer();
  const proxyServer: Server = createServer(proxy);
  // Longer than the load generator's idle connections live, so the proxy never closes one just as
  // it is reused (that race is the proxy's, not the fleet's).
  proxyServer.keepAliveTimeout = 65_000;
  await new Promise<void>((res) => proxyServer.listen(0, '127.0.0.1', res));
  const base = `http://127.0.0.1:${(proxyServer.address() as AddressInfo).port}`;
  const prefix = `nest-m2m-fleet:${randomBytes(6).toString('hex')}:`;
  const env = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // The audit sibling behind the same "Service" as the documents API.
    ...devIssuerServiceEnv(issuer, base),
    TOKEN_CACHE_URL: 'redis://127.0.0.1:6379',
    TOKEN_CACHE_KEY_PREFIX: prefix,
    TOKEN_CACHE_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    SHUTDOWN_TIMEOUT_MS: '10000',
    // Above the proxy's idle upstream connections, as behind any balancer.
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '65000',
  };

  const ports = await Promise.all(Array.from({ length: REPLICAS }, () => freePort()));
  for (let i = 0; i < REPLICAS; i++) replicas.push(startReplica(`replica-${i}`, ports[i]!, env));
  await Promise.all(replicas.map((r) => waitReady(r)));
  for (const r of replicas) inRotation.add(r);

  const afterBoot = issuer.controls.counters();
  // The callers' own token (not the fleet's); counters from here on are the fleet's.
  const token = await issuer.getToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  issuer.controls.resetCounters();

  const t0 = Date.now();
  const workers = Array.from({ length: WORKERS }, (_, i) => worker(i, base, token));
  await sleep(2000);
  phase = 'steady';
  await sleep(STEADY_MS);

  phase = 'restart';
  const restartStart = Date.now();
  const restarts: Array<{ replica: string; exitCode: number | null; drainMs: number; readyMs: number }> = [];
  for (let i = 0; i < replicas.length; i++) {
    const old = replicas[i]!;
    const signalled = await rotateOut(old);
    const exitCode = await old.exited;
    const drainMs = Date.now() - signalled;
    const fresh = startReplica(old.name, old.port, env);
    replicas[i] = fresh;
    const readyMs = await waitReady(fresh);
    inRotation.add(fresh);
    restarts.push({ replica: old.name, exitCode, drainMs, readyMs });
  }
  const restartMs = Date.now() - restartStart;
  phase = 'tail';
  await sleep(TAIL_MS);
  stop = true;
  await Promise.all(workers);
  const elapsed = Date.now() - t0;

  const counters = issuer.controls.counters();
  for (const r of replicas) r.child.kill('SIGTERM');
  const finalExits = await Promise.all(replicas.map((r) => r.exited));
  proxyServer.close();
  upstreamAgent.destroy();
  await issuer.close();

  // --- report --------------------------------------------------------------------------------------
  const measured = samples.filter((s) => s.phase !== 'warmup');
  const failed = measured.filter((s) => !s.ok);
  const latency = (ph: Phase[]) => measured.filter((s) => ph.includes(s.phase)).map((s) => s.ms);
  const steady = latency(['steady', 'tail']);
  const during = latency(['restart']);
  const byOp = (op: Sample['op']) => measured.filter((s) => s.op === op).length;
  const failureKinds = new Map<string, number>();
  for (const f of failed) failureKinds.set(`${f.phase} ${f.op} ${f.detail}`, (failureKinds.get(`${f.phase} ${f.op} ${f.detail}`) ?? 0) + 1);
  const report = {
    date: new Date().toISOString(),
    command: `npm run fleet -- ${process.argv.slice(2).join(' ')}`.trim(),
    replicas: REPLICAS,
    workers: WORKERS,
    preStopMs: PRESTOP_MS,
    elapsedMs: elapsed,
    requests: {
      sent: measured.length,
      reads: byOp('read'),
      puts: byOp('put'),
      deletes: byOp('delete'),
      failed: failed.length,
      moved: measured.filter((s) => s.moved).length,
    },
    failures: Object.fromEntries(failureKinds),
    proxyErrors,
    issuer: {
      atBoot: { tokenRequests: afterBoot.tokenRequests, jwksFetches: afterBoot.jwksFetches, discoveryFetches: afterBoot.discoveryFetches },
      duringLoad: {
        tokenRequests: counters.tokenRequests,
        tokenRequestsByClient: counters.tokenRequestsByClient,
        jwksFetches: counters.jwksFetches,
        discoveryFetches: counters.discoveryFetches,
      },
    },
    latencyMs: {
      steady: { n: steady.length, p50: percentile(steady, 0.5), p99: percentile(steady, 0.99), max: Math.max(...steady) },
      restarts: { n: during.length, p50: percentile(during, 0.5), p99: percentile(during, 0.99), max: Math.max(...during) },
    },
    restarts: { totalMs: restartMs, each: restarts },
    finalExitCodes: finalExits,
  };
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  writeFileSync(join(ROOT, '.tmp/fleet.json'), JSON.stringify(report, null, 2));

  const f1 = (n: number) => n.toFixed(1);
  console.log(
    `fleet: ${REPLICAS} replicas behind a round-robin proxy, shared Redis, ${WORKERS} workers, ${NO_PRESTOP ? `no preStop pause: SIGTERM, then out of rotation ${PROPAGATION_MS} ms later` : `preStop pause ${PRESTOP_MS} ms`}`,
  );
  console.log(
    `  requests sent     ${report.requests.sent} (reads ${report.requests.reads}, PUT ${report.requests.puts}, DELETE ${report.requests.deletes}) in ${f1(elapsed / 1000)} s`,
  );
  console.log(
    `  failed            ${failed.length}${failed.length ? ` ${JSON.stringify(report.failures)}` : ''}; proxy errors ${proxyErrors}; DELETEs answered by another replica (404, not counted) ${report.requests.moved}`,
  );
  console.log(
    `  issuer at boot    ${afterBoot.tokenRequests} token requests, ${afterBoot.jwksFetches} JWKS fetches, ${afterBoot.discoveryFetches} discovery fetches (${REPLICAS} replicas)`,
  );
  console.log(
    `  issuer under load ${counters.tokenRequests} token requests ${JSON.stringify(counters.tokenRequestsByClient)}, ${counters.jwksFetches} JWKS fetches, ${counters.discoveryFetches} discovery fetches (${REPLICAS} restarts)`,
  );
  console.log(
    `  latency steady    p50 ${f1(report.latencyMs.steady.p50)} ms, p99 ${f1(report.latencyMs.steady.p99)} ms (${steady.length} requests)`,
  );
  console.log(
    `  latency restarts  p50 ${f1(report.latencyMs.restarts.p50)} ms, p99 ${f1(report.latencyMs.restarts.p99)} ms (${during.length} requests over ${f1(restartMs / 1000)} s)`,
  );
  const exitsOk = restarts.every((r) => r.exitCode === 0) && finalExits.every((c) => c === 0);
  for (const r of restarts)
    console.log(`  ${r.replica}: SIGTERM → exit ${r.exitCode} in ${r.drainMs} ms; new process ready in ${r.readyMs} ms`);
  console.log(`fleet: ${failed.length} of ${measured.length} requests failed; replicas exited ${exitsOk ? 'all 0' : 'NOT all 0'}`);
  process.exit(failed.length === 0 && exitsOk ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err);
  for (const r of replicas) r.child.kill('SIGKILL');
  process.exit(1);
});
