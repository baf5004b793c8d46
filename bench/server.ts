/**
 * One app under load, in its own process (pinned to its own core by http.bench.ts):
 *   --app ours      the real AuthModule with the product's global guards + a two-route controller
 *   --app textbook  the tutorial passport-jwt + jwks-rsa app (bench/textbook/)
 *   --app real      the whole service (createApp, as main.ts runs it; request logs at LOG_LEVEL=info)
 *   --app bare      a bare Nest app (one controller, nothing else): the floor of a Nest request
 *   --app oauth2-bearer  a plain Express app guarded by express-oauth2-jwt-bearer (bench/apps/oauth2-bearer.ts)
 * and --platform express|fastify (ignored by oauth2-bearer, which is Express only). Issuer, audience and JWKS URL come from BENCH_* variables; the
 * port goes back over IPC. Listens on 127.0.0.1 only.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createNestApplication } from '../src/http-platform.js';
import { BareModule } from './apps/bare.module.js';
import { BenchModule } from './apps/bench.module.js';
import { oauth2BearerApp } from './apps/oauth2-bearer.js';
import { TextbookModule } from './textbook/textbook.module.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1]!;
}

async function create(app: string, platform: string): Promise<INestApplication> {
  const issuer = process.env.BENCH_ISSUER!;
  const audience = process.env.BENCH_AUDIENCE!;
  const jwksUri = process.env.BENCH_JWKS_URI!;
  if (app === 'ours') return createNestApplication(BenchModule.forRoot({ issuer, audience, jwksUri }), platform, { logger: ['error'] });
  if (app === 'bare') {
    if (platform !== 'fastify') return NestFactory.create(BareModule, { logger: ['error'] });
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create(BareModule, new FastifyAdapter(), { logger: ['error'] });
  }
  if (app === 'textbook') return NestFactory.create(TextbookModule, { logger: ['error'] });
  if (app === 'real') {
    const { createApp } = await import('../src/bootstrap.js');
    return createApp(
      {
        env: {
          NODE_ENV: 'production',
          HTTP_PLATFORM: platform,
          AUTH_ISSUER_URL: issuer,
          AUTH0_AUDIENCE: audience,
          AUTH_JWKS_URI: jwksUri,
          LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
          AUTH_JWKS_COOLDOWN_MS: process.env.AUTH_JWKS_COOLDOWN_MS,
          AUTH_JWKS_TIMEOUT_MS: process.env.AUTH_JWKS_TIMEOUT_MS,
          VERIFIED_TOKEN_CACHE_SIZE: process.env.VERIFIED_TOKEN_CACHE_SIZE,
          // instr.bench.ts: under valgrind a request can take seconds; the production timeouts would cut connections.
          HTTP_HEADERS_TIMEOUT_MS: process.env.HTTP_HEADERS_TIMEOUT_MS,
          HTTP_REQUEST_TIMEOUT_MS: process.env.HTTP_REQUEST_TIMEOUT_MS,
          HTTP_KEEP_ALIVE_TIMEOUT_MS: process.env.HTTP_KEEP_ALIVE_TIMEOUT_MS,
        },
      },
      ['error'],
    );
  }
  throw new Error(`unknown --app ${app}`);
}

/** A listening server on 127.0.0.1 and how to close it: a Nest app, or a plain Node server for oauth2-bearer. */
async function listen(app: string, platform: string): Promise<{ port: number; close: () => Promise<void> }> {
  if (app === 'oauth2-bearer') {
    const server = createServer(oauth2BearerApp({ issuerBaseURL: process.env.BENCH_ISSUER!, audience: process.env.BENCH_AUDIENCE! }));
    // instr.bench.ts sets these: under valgrind a request can take seconds, and Node's defaults
    // (keep-alive 5 s) would close the idle keep-alive sockets between scenarios.
    const ms = (name: string) => (process.env[name] ? Number(process.env[name]) : undefined);
    server.headersTimeout = ms('HTTP_HEADERS_TIMEOUT_MS') ?? server.headersTimeout;
    server.requestTimeout = ms('HTTP_REQUEST_TIMEOUT_MS') ?? server.requestTimeout;
    server.keepAliveTimeout = ms('HTTP_KEEP_ALIVE_TIMEOUT_MS') ?? server.keepAliveTimeout;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const close = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    return { port: (server.address() as { port: number }).port, close };
  }
  const nest = await create(app, platform);
  await nest.listen(0, '127.0.0.1');
  return { port: (nest.getHttpServer().address() as { port: number }).port, close: () => nest.close() };
}

/**
 * CPU time of the main thread alone (user, system), in µs, from /proc (Linux; undefined elsewhere):
 * the rest of `process.cpuUsage()` is V8's background threads (compilers, concurrent marking, GC
 * helpers) and libuv's thread pool, all on the same core as the main thread when pinned.
 */
function mainThreadMicros(): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name's closing parenthesis start at field 3 (state); utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 1e6 / 100; // USER_HZ is 100 on Linux.
    return { user: Number(fields[11]) * tick, system: Number(fields[12]) * tick };
  } catch {
    return undefined;
  }
}

const server = await listen(arg('app', 'ours'), arg('platform', 'express'));
const { port } = server;
process.send!({ port });
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
// instr.bench.ts turns it off: a timer's work grows with wall time, which valgrind stretches.
if (process.env.BENCH_LOOP_DELAY !== 'off') loopDelay.enable();
process.on('message', (m: unknown) => {
  // CPU time spent by this process, for the CPU cost per request (robust against a busy machine).
  if (m === 'cpu') {
    const u = process.cpuUsage();
    process.send!({ cpuMicros: u.user + u.system, main: mainThreadMicros() });
  }
  // A full collection on request (instr.bench.ts, with --expose-gc), and a reply that also serves as
  // a wake-up: callgrind takes a callgrind_control command only when the process runs.
  if (m === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    process.send!({ gcDone: true });
  }
  if (m === 'ping') process.send!({ pong: true });
  // Memory and event-loop delay since the last 'stats' (the soak's windows), in ms.
  if (m === 'stats') {
    const ms = (ns: number) => ns / 1e6;
    process.send!({
      stats: {
        rss: process.memoryUsage.rss(),
        heapUsed: process.memoryUsage().heapUsed,
        loopP50: ms(loopDelay.percentile(50)),
        loopP99: ms(loopDelay.percentile(99)),
        loopMax: ms(loopDelay.max),
      },
    });
    loopDelay.reset();
  }
});
process.on('disconnect', () => void server.close().finally(() => process.exit(0)));
