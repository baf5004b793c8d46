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

  /**
   * Keep-alive and the shutdown bound both outlast the test timeout: an idle connection that held the
   * exit would fail the test by timing out, instead of ending at either bound.
   */
  const NOTHING_ENDS_BY_ITSELF = { HTTP_KEEP_ALIVE_TIMEOUT_MS: '600000', SHUTDOWN_TIMEOUT_MS: '600000' };

  /** Sends a request that waits on the JWKS, and resolves once that JWKS fetch has reached the issuer. */
  const requestWaitingOnJwks = async (running: RunningApp) => {
    const fetchesBefore = issuer.jwksFetches;
    let settled = false;
    const response = fetch(`${running.url}/internal/data`, { headers: { Authorization: `Bearer ${tokenNeedingAJwksFetch()}` } }).finally(
      () => (settled = true),
    );
    // Handled here too: a spec whose process exits first awaits the rejection later, or not at all.
    void response.catch(() => undefined);
    await expect.poll(() => issuer.jwksFetches, { timeout: 20_000 }).toBe(fetchesBefore + 1);
    return { response, settled: () => settled };
  };

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
    const running = await start({ AUTH_JWKS_TIMEOUT_MS: '20000', ...NOTHING_ENDS_BY_ITSELF });
    // The in-flight request waits on a JWKS answer that this test releases once draining has begun.
    let openJwks!: () => void;
    issuer.behaviour = { kind: 'gate', open: new Promise<void>((resolve) => (openJwks = resolve)) };
    const inFlight = await requestWaitingOnJwks(running);
    running.child.kill('SIGTERM');
    await expect.poll(() => running.stdout(), { timeout: 20_000 }).toContain('draining in-flight requests');
    expect(inFlight.settled()).toBe(false);
    openJwks();

    const res = await inFlight.response;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ clientId: 'caller-app' });
    const { code, signal } = await running.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(running.stdout()).toContain('Shutdown complete');
  });

  it('new_connections_are_refused_once_draining_has_started', async () => {
    const running = await start({ AUTH_JWKS_TIMEOUT_MS: '20000' });
    // The in-flight request waits on a JWKS answer that this test releases: no guessed delays.
    let openJwks!: () => void;
    issuer.behaviour = { kind: 'gate', open: new Promise<void>((resolve) => (openJwks = resolve)) };
    const inFlight = await requestWaitingOnJwks(running);
    running.child.kill('SIGTERM');
    // Logged just before the server stops listening, in the same tick.
    await expect.poll(() => running.stdout(), { timeout: 20_000 }).toContain('draining in-flight requests');

    await expect(fetch(`${running.url}/health`, { headers: { connection: 'close' } })).rejects.toThrow();
    // Refused by a process that is still draining, not by one that has already gone.
    expect({ exitCode: running.child.exitCode, signal: running.child.signalCode, settled: inFlight.settled() }).toEqual({
      exitCode: null,
      signal: null,
      settled: false,
    });
    openJwks();
    expect((await inFlight.response).status).toBe(200);
    expect((await running.exited).code).toBe(0);
  });

  it('a_request_that_never_finishes_cannot_hold_the_process_past_SHUTDOWN_TIMEOUT_MS', async () => {
    const running = await start({ AUTH_JWKS_TIMEOUT_MS: '60000', SHUTDOWN_TIMEOUT_MS: '1000' });
    issuer.behaviour = { kind: 'hang' };
    const stuck = await requestWaitingOnJwks(running);
    const signalled = Date.now();
    running.child.kill('SIGTERM');
    // A bound that never fired would fail this test by timing out; one taken from elsewhere, by the message.
    const { code } = await running.exited;
    expect(code).toBe(1);
    // A lower bound only (a timer never fires early): the request was given its time, not cut off at once.
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
    expect(running.stdout()).toContain('Shutdown did not finish within 1000 ms (SHUTDOWN_TIMEOUT_MS)');
    await expect(stuck.response).rejects.toThrow();
  });

  it('an_idle_service_exits_0_at_once_on_sigterm', async () => {
    const running = await start(NOTHING_ENDS_BY_ITSELF);
    // A keep-alive connection left open by a client must not hold the shutdown.
    await fetch(`${running.url}/health`);
    running.child.kill('SIGTERM');
    expect((await running.exited).code).toBe(0);
    expect(running.stdout()).toContain('Shutdown complete');
  });
});
