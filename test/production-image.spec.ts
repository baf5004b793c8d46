import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type RunningApp, spawnApp, stopApp, waitForHealth } from './helpers/built-app.js';
import { TestIssuer } from '../libs/auth/test/test-issuer.js';

const run = promisify(execFile);

/** The Dockerfile's runtime stage, instructions joined across `\` continuations. */
function runtimeStage(): Array<{ op: string; args: string }> {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const all = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') }; // split() returns at least one element
    });
  const start = all.findIndex((i) => i.op === 'FROM' && /\bAS runtime$/i.test(i.args));
  return all.slice(start);
}

const stage = runtimeStage();
const instruction = (op: string) => stage.filter((i) => i.op === op);
/** The exec-form array of a `CMD` (or `HEALTHCHECK … CMD`). */
const execForm = (args: string) => JSON.parse(args.slice(args.indexOf('['))) as string[];

/**
 * No Docker engine here: this does what the image does. The runtime stage's COPY instructions into
 * an empty directory, its own `npm ci` (production dependencies only), and the image's CMD and
 * HEALTHCHECK with its environment.
 */
describe('the production image, reproduced', () => {
  let dir: string;
  let issuer: TestIssuer;
  let app: RunningApp | undefined;
  const imageEnv = Object.fromEntries(instruction('ENV').map((i) => i.args.split('=') as [string, string]));
  const cmd = execForm(instruction('CMD')[0]?.args ?? '[]');

  beforeAll(async () => {
    issuer = await new TestIssuer().start();
    dir = mkdtempSync(join(tmpdir(), 'nest-m2m-image-'));
    // The runtime stage's COPY and `npm ci` in their order; `COPY --from=build /app/x` takes the
    // host's build of x (test/global-setup.ts builds the same paths the build stage does).
    for (const { op, args } of stage) {
      if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const fromBuild = parts[0] === '--from=build';
        const sources = parts.slice(fromBuild ? 1 : 0, -1).map((s) => (fromBuild ? s.replace(/^\/app\//, '') : s));
        const dest = parts.at(-1)!;
        for (const source of sources) {
          const target = dest.endsWith('/') ? join(dir, dest, source.split('/').at(-1)!) : join(dir, dest);
          cpSync(join(ROOT, source), target, { recursive: true });
        }
      } else if (op === 'RUN' && /^npm ci\b/.test(args)) {
        // split() returns at least one element.
        const [npm, ...flags] = args.split('&&')[0]!.trim().split(/\s+/);
        await run(npm!, [...flags, '--prefer-offline'], { cwd: dir, env: { ...process.env, NODE_ENV: 'production' } });
      }
    }
  }, 240_000);
  afterAll(async () => {
    await stopApp(app);
    await issuer?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = (env: Record<string, string>) => spawnApp({ ...imageEnv, ...env }, { cwd: dir, command: cmd });

  it('the_dockerfile_runs_node_24_as_a_non_root_user_with_an_exec_form_cmd', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim\n/);
    expect(imageEnv.NODE_ENV).toBe('production');
    expect(instruction('USER').at(-1)?.args).toMatch(/^(node|[1-9]\d*)$/);
    expect(cmd).toEqual(['node', 'dist/main.js']);
    expect(instruction('EXPOSE')[0]?.args).toBe('3000');
    expect(instruction('HEALTHCHECK')[0]?.args).toContain('/health');
  });

  it('the_production_install_has_no_dev_dependencies', () => {
    for (const dev of ['typescript', 'vitest', 'pino-pretty', 'tsx', '@nestjs/testing', 'oidc-provider', '@nest-m2m/dev-issuer']) {
      expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
    }
    expect(existsSync(join(dir, 'node_modules/nestjs-pino'))).toBe(true);
    // The auth library as a linked workspace with its compiled code, nothing of the dev issuer.
    expect(existsSync(join(dir, 'node_modules/@nest-m2m/auth/dist/index.js'))).toBe(true);
    expect(existsSync(join(dir, 'libs/dev-issuer'))).toBe(false);
  });

  it('it_answers_health_and_its_healthcheck_passes_with_json_logs', async () => {
    app = await start({ AUTH_ISSUER_URL: issuer.issuer, AUTH0_AUDIENCE: issuer.audience });
    await waitForHealth(app);
    const live = await fetch(`${app.url}/health`);
    expect(await live.json()).toMatchObject({ status: 'ok' });
    await expect.poll(async () => (await fetch(`${app!.url}/health/ready`)).status, { timeout: 10_000 }).toBe(200);

    const [node, ...check] = execForm(instruction('HEALTHCHECK')[0]?.args.replace(/^.*?CMD\s+/, '') ?? '[]');
    expect(node).toBe('node');
    const port = new URL(app.url).port;
    await expect(run(process.execPath, check, { env: { PORT: port } })).resolves.toBeDefined();

    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
    await expect(run(process.execPath, check, { env: { PORT: port } })).rejects.toMatchObject({ code: 1 });
    const lines = app.stdout().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
  });

  it('missing_issuer_variables_stop_start_up_with_a_message_naming_them', async () => {
    app = await start({});
    const { code } = await app.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const message = app.stderr();
    for (const name of ['AUTH0_DOMAIN', 'AUTH_ISSUER_URL', 'AUTH0_AUDIENCE']) expect(message).toContain(name);
    expect(message).not.toContain('    at '); // a message, not a stack trace
  });

  it('sigterm_exits_0_within_the_bound', async () => {
    app = await start({ AUTH_ISSUER_URL: issuer.issuer, AUTH0_AUDIENCE: issuer.audience, SHUTDOWN_TIMEOUT_MS: '5000' });
    await waitForHealth(app);
    app.child.kill('SIGTERM');
    const { code, signal } = await app.exited;
    // Past SHUTDOWN_TIMEOUT_MS the process exits 1: a 0 is the bound kept (no wall-clock assertion).
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });

  it('development_mode_without_pino_pretty_still_starts_with_json_logs', async () => {
    app = await start({ NODE_ENV: 'development', AUTH_ISSUER_URL: issuer.issuer, AUTH0_AUDIENCE: issuer.audience });
    await waitForHealth(app);
    app.child.kill('SIGTERM');
    expect((await app.exited).code).toBe(0);
    // Empty output is not "JSON logs": the start-up line must be there, as a JSON record.
    const records = app
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        expect(() => JSON.parse(line), line).not.toThrow();
        return JSON.parse(line) as { msg?: unknown };
      });
    expect(records.map((r) => r.msg)).toContainEqual(expect.stringMatching(/^nest-m2m listening on http:\/\//));
  });
});
