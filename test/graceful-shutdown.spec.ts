import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningApp, spawnApp, stopApp, waitForHealth } from './helpers/built-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

/** The built service as its own process: what a container orchestrator stops with SIGTERM. */
describe.each(['express', 'fastify'])('graceful shutdown of the built service on %s', (platform) => {
  let issuer: TestIssuer;
  let app: RunningApp | undefined;

  const start = async (env: Record<string, string> = {}) => {
    app = await spawnApp({
      NODE_ENV: 'production',
      HTTP_PLATFORM: platform,
      LOG_LEVEL: 'info',
      AUTH_ISSUER_URL: issuer.issuer,
      AUTH0_AUDIENCE: issuer.audience,
      AUTH_JWKS_COOLDOWN_MS: '0',
      ...env,
    });
    await waitForHealth(app);
    return app;
  };

  /** A valid token signed by a key the service has not seen: verifying it waits on a JWKS refetch. */
  const tokenNeedingAJwksFetch = () => issuer.sign(issuer.claims(), {}, issuer.rotate({ keepOld: true }));

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
  }, 120_000);
  afterEach(async () => {
    await stopApp(app);
    app = undefined;
    issuer.behaviour = { kind: 'ok' };
  });
  afterAll(async () => {
    await issuer?.close();
  });

  it('an_in_flight_request_completes_after_sigterm_and_the_process_exits_0', async () => {
    const running = await start({ AUTH_JWKS_TIMEOUT_MS: '10000' });
    issuer.behaviour = { kind: 'delay', ms: 1500 };
    const inFlight = fetch(`${running.url}/internal/data`, { headers: { Authorization: `Bearer ${tokenNeedingAJwksFetch()}` } });
    await sleep(300);
    const signalled = Date.now();
    running.child.kill('SIGTERM');

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ clientId: 'caller-app' });
    const { code, signal } = await running.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(5000);
  });

  it('new_connections_are_refused_once_draining_has_started', async () => {
    const running = await start({ AUTH_JWKS_TIMEOUT_MS: '20000' });
    // The in-flight request waits on a JWKS answer that this test releases: no guessed delays.
    let openJwks!: () => void;
    issuer.behaviour = { kind: 'gate', open: new Promise<void>((resolve) => (openJwks = resolve)) };
    const fetchesBefore = issuer.jwksFetches;
    let settled = false;
    const inFlight = fetch(`${running.url}/internal/data`, { headers: { Authorization: `Bearer ${tokenNeedingAJwksFetch()}` } }).finally(
      () => (settled = true),
    );
    await expect.poll(() => issuer.jwksFetches, { timeout: 20_000 }).toBe(fetchesBefore + 1);
    running.child.kill('SIGTERM');
    // Logged just before the server stops listening, in the same tick.
    await expect.poll(() => running.stdout(), { timeout: 20_000 }).toContain('draining in-flight requests');

    await expect(fetch(`${running.url}/health`, { headers: { connection: 'close' } })).rejects.toThrow();
    // Refused by a process that is still draining, not by one that has already gone.
    expect({ exitCode: running.child.exitCode, signal: running.child.signalCode, settled }).toEqual({
      exitCode: null,
      signal: null,
      settled: false,
    });
    openJwks();
    expect((await inFlight).status).toBe(200);
    expect((await running.exited).code).toBe(0);
  });

  it('a_request_that_never_finishes_cannot_hold_the_process_past_SHUTDOWN_TIMEOUT_MS', async () => {
    const running = await start({ AUTH_JWKS_TIMEOUT_MS: '60000', SHUTDOWN_TIMEOUT_MS: '1000' });
    issuer.behaviour = { kind: 'hang' };
    const stuck = fetch(`${running.url}/internal/data`, { headers: { Authorization: `Bearer ${tokenNeedingAJwksFetch()}` } }).catch(
      () => undefined,
    );
    await sleep(300);
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    const { code } = await running.exited;
    const took = Date.now() - signalled;
    expect(code).toBe(1);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4000);
    expect(running.stdout()).toContain('SHUTDOWN_TIMEOUT_MS');
    await stuck;
  });

  it('an_idle_service_exits_0_at_once_on_sigterm', async () => {
    const running = await start();
    // A keep-alive connection left open by a client must not hold the shutdown.
    await fetch(`${running.url}/health`);
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    expect((await running.exited).code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(2000);
    expect(running.stdout()).toContain('Shutdown complete');
  });
});
