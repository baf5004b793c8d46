/**
 * One measurement, in its own process (pinned to its own core by http.bench.ts): a warm-up run,
 * then a fixed-duration run with a fixed number of connections. Prints one JSON line.
 * Latency percentiles come from every response's own duration (autocannon's histogram rounds to
 * whole milliseconds, too coarse for a p99 ratio).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  url: string;
  path: string;
  /** No token, one token for every request, or a file of tokens used round-robin. */
  tokens: { kind: 'none' } | { kind: 'one'; token: string } | { kind: 'file'; path: string };
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  /** Requests per second to hold over all connections (autocannon's `overallRate`); none: as fast as answered. */
  rate?: number;
}

export interface LoadResult {
  requests: number;
  /** Requests of the warm-up run (not in the figures, but in the server's CPU time). */
  warmupRequests: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const MAX_SAMPLES = 5_000_000;

function requestsFor(spec: LoadSpec): Array<{ method: 'GET'; path: string; headers?: Record<string, string> }> {
  const t = spec.tokens;
  if (t.kind === 'none') return [{ method: 'GET', path: spec.path }];
  const tokens = t.kind === 'one' ? [t.token] : readFileSync(t.path, 'utf8').trim().split('\n');
  return tokens.map((token) => ({ method: 'GET', path: spec.path, headers: { authorization: `Bearer ${token}` } }));
}

async function run(spec: LoadSpec, seconds: number, record: boolean): Promise<LoadResult> {
  const requests = requestsFor(spec);
  const samples = new Float64Array(record ? MAX_SAMPLES : 0);
  let n = 0;
  let client = 0;
  const instance = autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: seconds,
    requests,
    ...(spec.rate !== undefined && { overallRate: spec.rate }),
    // Each connection starts at its own offset, so the distinct tokens are spread over the connections.
    setupClient: (c: { setRequests(r: unknown[]): void }) => {
      const offset = Math.floor((client++ * requests.length) / spec.connections);
      if (offset > 0) c.setRequests([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
  });
  if (record) {
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      if (n < MAX_SAMPLES) samples[n++] = ms;
    });
  }
  const r = await instance;
  const sorted = samples.subarray(0, n).sort();
  const pct = (p: number) => (n === 0 ? NaN : sorted[Math.min(n - 1, Math.floor(n * p))]!);
  return {
    requests: r.requests.total,
    warmupRequests: 0,
    rps: r.requests.total / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
const warmup = spec.warmupSeconds > 0 ? await run(spec, spec.warmupSeconds, false) : undefined;
const result = await run(spec, spec.durationSeconds, true);
result.warmupRequests = warmup?.requests ?? 0;
process.stdout.write(`${JSON.stringify(result)}\n`);
