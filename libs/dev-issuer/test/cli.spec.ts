import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_API_AUDIENCE,
  DOCUMENTS_API_AUDIENCE,
  readDevIssuerState,
  startDevIssuer,
  writeDevIssuerState,
  type DevIssuer,
} from '../src/index.js';
import { secretOf } from './helpers.js';

const LIB = resolve(import.meta.dirname, '..');
const ROOT = resolve(LIB, '..', '..');
// The package's bin as npm links it (`npx nest-m2m-dev-issuer`), built by test/global-setup.ts.
const CLI = join(LIB, 'dist', 'cli.js');

/** The child's environment without any real-issuer settings of the developer's shell. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(AUTH0_|AUTH_|DEV_ISSUER_)/.test(name)) delete env[name];
  return { ...env, ...extra };
}

function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [CLI, 'token', ...args],
      { cwd: options.cwd ?? ROOT, env: cleanEnv(options.env), timeout: 20_000 },
      (error, stdout, stderr) => {
        done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

let issuer: DevIssuer;
let cwd: string;
beforeAll(async () => {
  issuer = await startDevIssuer();
  cwd = await mkdtemp(join(tmpdir(), 'dev-issuer-cli-'));
  // The default state path, relative to the working directory, as `nest-m2m-dev-issuer token` uses it.
  await writeDevIssuerState(issuer, join(cwd, '.dev-issuer', 'state.json'));
});
afterAll(async () => {
  await issuer.close();
  await rm(cwd, { recursive: true, force: true });
});

describe('token CLI against the embedded issuer', () => {
  it('prints only the access token for the client first granted audience', async () => {
    const { code, stdout, stderr } = await runCli(['--client', 'documents-caller'], { cwd });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const token = stdout.trim();
    expect(stdout).toBe(`${token}\n`);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(issuer.jwksUri)), {
      issuer: issuer.issuer,
      audience: DOCUMENTS_API_AUDIENCE,
    });
    expect(payload.azp).toBe('documents-caller');
  });

  it('prints the whole token response with --json, for an explicit audience by basic auth (no scope: it equals the requested one)', async () => {
    const { code, stdout } = await runCli(
      ['--client', 'auditor', '--audience', AUDIT_API_AUDIENCE, '--auth', 'basic', '--json', '--scope', 'read:audit'],
      { cwd },
    );
    expect(code).toBe(0);
    const response = JSON.parse(stdout) as Record<string, unknown>;
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 86400 });
    expect(response).not.toHaveProperty('scope');
    expect(decodeJwt(response.access_token as string).aud).toBe(AUDIT_API_AUDIENCE);
  });

  it('names the known clients for an unknown client and exits 2', async () => {
    const { code, stdout, stderr } = await runCli(['--client', 'nobody'], { cwd });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('unknown client "nobody"; clients of the dev issuer: documents-caller, nest-m2m-service, auditor');
  });

  it('explains how to start an issuer when no state file exists, and exits 2', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'dev-issuer-cli-empty-'));
    try {
      const { code, stderr } = await runCli(['--client', 'documents-caller'], { cwd: empty });
      expect(code).toBe(2);
      expect(stderr).toMatch(/^token: no dev issuer state at \.dev-issuer\/state\.json\. Start the service/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('reports a refused request with status and error but never the secret, and exits 1', async () => {
    const { code, stdout, stderr } = await runCli(['--client', 'documents-caller', '--audience', AUDIT_API_AUDIENCE], { cwd });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('refused client "documents-caller": 403 access_denied: Client is not authorized to access');
    expect(stderr).not.toContain(secretOf(issuer, 'documents-caller'));
  });

  it('rejects unknown flags with the usage and exits 2', async () => {
    const { code, stderr } = await runCli(['--client', 'documents-caller', '--bogus'], { cwd });
    expect(code).toBe(2);
    expect(stderr).toContain('Usage: nest-m2m-dev-issuer token');
  });
});

describe('token CLI against any issuer', () => {
  it('uses --token-url with the secret from AUTH0_CLIENT_SECRET', async () => {
    const { code, stdout } = await runCli(['--token-url', issuer.tokenEndpoint, '--client', 'auditor', '--audience', AUDIT_API_AUDIENCE], {
      env: { AUTH0_CLIENT_SECRET: secretOf(issuer, 'auditor') },
    });
    expect(code).toBe(0);
    expect(decodeJwt(stdout.trim()).sub).toBe('auditor@clients');
  });

  it('discovers the token endpoint from AUTH_ISSUER_URL and takes the audience from AUTH0_AUDIENCE', async () => {
    const { code, stdout } = await runCli([], {
      env: {
        AUTH_ISSUER_URL: issuer.issuer,
        AUTH0_CLIENT_ID: 'nest-m2m-service',
        AUTH0_CLIENT_SECRET: secretOf(issuer, 'nest-m2m-service'),
        AUTH0_AUDIENCE: `${AUDIT_API_AUDIENCE},${DOCUMENTS_API_AUDIENCE}`,
      },
    });
    expect(code).toBe(0);
    expect(decodeJwt(stdout.trim())).toMatchObject({ aud: AUDIT_API_AUDIENCE, azp: 'nest-m2m-service' });
  });

  it('does not echo a wrong secret when the issuer refuses it', async () => {
    const wrong = 'wrong-secret-that-must-not-leak';
    const { code, stderr } = await runCli(['--token-url', issuer.tokenEndpoint, '--client', 'auditor', '--audience', AUDIT_API_AUDIENCE], {
      env: { AUTH0_CLIENT_SECRET: wrong },
    });
    expect(code).toBe(1);
    expect(stderr).toContain('401 access_denied: Unauthorized');
    expect(stderr).not.toContain(wrong);
  });

  it('asks for a secret when none is given, and exits 2', async () => {
    const { code, stderr } = await runCli(['--token-url', issuer.tokenEndpoint, '--client', 'auditor']);
    expect(code).toBe(2);
    expect(stderr).toBe('token: no client secret: set AUTH0_CLIENT_SECRET (or pass --client-secret)\n');
  });

  it('reports an unreachable issuer and exits 1', async () => {
    const gone = await startDevIssuer();
    await gone.close();
    const { code, stderr } = await runCli([
      '--token-url',
      gone.tokenEndpoint,
      '--client',
      'auditor',
      '--client-secret',
      'some-secret-value',
    ]);
    expect(code).toBe(1);
    expect(stderr).toContain(`cannot reach ${gone.tokenEndpoint} (ECONNREFUSED)`);
    expect(stderr).not.toContain('some-secret-value');
  });
});

describe('standalone dev issuer', () => {
  it('starts from the environment, prints URL and clients, serves the token CLI and removes its state on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-issuer-main-'));
    const stateFile = join(dir, 'state.json');
    const child = spawn(process.execPath, [CLI], {
      cwd: ROOT,
      env: cleanEnv({
        DEV_ISSUER_PORT: '0',
        DEV_ISSUER_STATE_FILE: stateFile,
        DEV_ISSUER_TEST_CONTROLS: 'true',
        DEV_ISSUER_CONFIG: 'dev-issuer.sample.json',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await new Promise<void>((ready, fail) => {
        const timer = setTimeout(() => fail(new Error(`no start-up banner:\n${output}`)), 15_000);
        child.stdout.on('data', () => {
          if (!output.includes('Get a token:')) return;
          clearTimeout(timer);
          ready();
        });
        child.once('exit', (code) => fail(new Error(`exited with ${code}:\n${output}`)));
      });
      const url = /Dev issuer: (http:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
      expect(url).toBeDefined();
      expect(output).toContain('partner-batch → https://documents.nest-m2m.local [private_key_jwt]');
      expect(output).toContain('secret: local-dev-only-auditor-secret-not-for-real-use');
      expect(output).toContain(`test controls:  ${url}/__test/`);
      expect((await fetch(`${url}/__test/counters`)).status).toBe(200);

      const state = await readDevIssuerState(stateFile);
      expect(state.url).toBe(url);
      const { code, stdout } = await runCli(['--state', stateFile, '--client', 'auditor']);
      expect(code).toBe(0);
      expect(decodeJwt(stdout.trim())).toMatchObject({ iss: `${url}/`, aud: AUDIT_API_AUDIENCE });

      const exited = new Promise<number | null>((done) => child.once('exit', done));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await expect(stat(stateFile)).rejects.toThrow(/ENOENT/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('serves https with DEV_ISSUER_TLS, writes the CA to DEV_ISSUER_CA_FILE, and the token CLI trusts it through NODE_EXTRA_CA_CERTS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-issuer-main-'));
    const stateFile = join(dir, 'state.json');
    const caFile = join(dir, 'ca.pem');
    const child = spawn(process.execPath, [CLI], {
      cwd: ROOT,
      env: cleanEnv({ DEV_ISSUER_PORT: '0', DEV_ISSUER_STATE_FILE: stateFile, DEV_ISSUER_TLS: 'true', DEV_ISSUER_CA_FILE: caFile }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await new Promise<void>((ready, fail) => {
        const timer = setTimeout(() => fail(new Error(`no start-up banner:\n${output}`)), 15_000);
        child.stdout.on('data', () => {
          if (!output.includes('Get a token:')) return;
          clearTimeout(timer);
          ready();
        });
        child.once('exit', (code) => fail(new Error(`exited with ${code}:\n${output}`)));
      });
      const url = /Dev issuer: (https:\/\/127\.0\.0\.1:\d+)\//.exec(output)?.[1];
      expect(url).toBeDefined();
      expect(output).toContain(`export NODE_EXTRA_CA_CERTS=${caFile}`);
      expect((await readFile(caFile, 'utf8')).startsWith('-----BEGIN CERTIFICATE-----')).toBe(true);
      const { code, stdout, stderr } = await runCli(['--state', stateFile, '--client', 'auditor'], {
        env: { NODE_EXTRA_CA_CERTS: caFile },
      });
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(decodeJwt(stdout.trim())).toMatchObject({ iss: `${url}/`, aud: AUDIT_API_AUDIENCE });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits non-zero with the config problems for an invalid config file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dev-issuer-main-'));
    try {
      const bad = join(dir, 'bad.json');
      await writeFile(bad, JSON.stringify({ apis: [], clients: [{ clientId: 'x', grants: [{ audience: 'nope', scopes: [] }] }] }));
      const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
        execFile(
          process.execPath,
          [CLI],
          { cwd: ROOT, env: cleanEnv({ DEV_ISSUER_CONFIG: bad, DEV_ISSUER_STATE_FILE: join(dir, 's.json') }), timeout: 20_000 },
          (error, _stdout, stderr) => done({ code: error ? Number((error as { code?: number }).code) : 0, stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('clients[0].grants[0].audience: no API with identifier "nope"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
