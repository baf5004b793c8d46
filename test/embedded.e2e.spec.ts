import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const MAIN = resolve('dist/main.js');

/** Starts `node dist/main.js` (what `npm start` runs after building) and waits for the quick-start command. */
function startEmbedded(
  cwd: string,
): Promise<{ child: ChildProcess; command: string; cliCommand?: string; port: number; output: () => string }> {
  const child = spawn(process.execPath, [MAIN], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: '0', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new Error(`no quick-start command within 30 s:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const command = out.split('\n').find((l) => l.trim().startsWith('TOKEN=$(curl'));
      const port = /curl -s -H "Authorization: Bearer \$TOKEN" http:\/\/127\.0\.0\.1:(\d+)\//.exec(command ?? '')?.[1];
      if (command && port) {
        clearTimeout(timer);
        const cliCommand = out
          .split('\n')
          .find((l) => l.trim().startsWith('TOKEN=$(npm run -s token'))
          ?.trim();
        resolveStart({ child, command: command.trim(), cliCommand, port: Number(port), output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${out}`));
    });
  });
}

/** `npm run -s token -- --client <id>` as a newcomer runs it: from the repository, against the running issuer's state file. */
function cli(cwd: string, client: string) {
  return exec('npm', ['run', '-s', 'token', '--', '--client', client, '--state', join(cwd, '.dev-issuer/state.json')], { timeout: 30_000 });
}

describe('the newcomer path: npm start with no configuration', () => {
  let cwd: string;
  let started: Awaited<ReturnType<typeof startEmbedded>>;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'nest-m2m-embedded-'));
    started = await startEmbedded(cwd);
  }, 60_000);
  afterAll(async () => {
    if (started?.child.exitCode === null) {
      const exited = new Promise((r) => started.child.once('exit', r));
      started.child.kill('SIGTERM');
      await exited;
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('the_printed_command_gets_a_token_and_answers_200_with_the_document', async () => {
    const { stdout } = await exec('bash', ['-c', started.command], { timeout: 15_000 });
    expect(JSON.parse(stdout)).toEqual({ id: '1', title: 'Quarterly report', body: 'Revenue grew.' });
  });

  it('the_token_cli_reads_the_running_issuer_and_its_token_works', async () => {
    const { stdout: token } = await cli(cwd, 'documents-caller');
    const res = await fetch(`http://127.0.0.1:${started.port}/internal/data`, { headers: { authorization: `Bearer ${token.trim()}` } });
    expect(res.status).toBe(200);
  });

  it('a_delete_is_reported_to_the_audit_api_over_http_with_the_services_own_m2m_token', async () => {
    const tokenCommand = started.command.split(' && curl')[0];
    const { stdout: token } = await exec('bash', ['-c', `${tokenCommand} && printf %s "$TOKEN"`], { timeout: 15_000 });
    const del = await fetch(`http://127.0.0.1:${started.port}/internal/documents/2`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(200);
    const { auditEventId } = (await del.json()) as { auditEventId: string };

    const { stdout: auditorToken } = await cli(cwd, 'auditor');
    const list = await fetch(`http://127.0.0.1:${started.port}/internal/audit-events`, {
      headers: { authorization: `Bearer ${auditorToken.trim()}` },
    });
    expect(list.status).toBe(200);
    const { events } = (await list.json()) as { events: Array<Record<string, string>> };
    // recordedBy is the client id of the M2M token the service used: it called itself over HTTP.
    expect(events).toContainEqual(
      expect.objectContaining({
        id: auditEventId,
        action: 'document.deleted',
        resource: 'documents/2',
        actor: 'documents-caller',
        recordedBy: 'nest-m2m-service',
      }),
    );
  });

  const clientsOfState = () =>
    (
      JSON.parse(readFileSync(join(cwd, '.dev-issuer/state.json'), 'utf8')) as {
        clients: Array<{ clientId: string; clientSecret: string }>;
      }
    ).clients;

  it('nothing_in_the_output_leaks_the_services_own_client_secret', async () => {
    const serviceSecret = clientsOfState().find((c) => c.clientId === 'nest-m2m-service')!.clientSecret;
    expect(started.output()).not.toContain(serviceSecret);
  });

  it('the_token_cli_command_comes_first_and_no_secret_is_printed_before_a_dev_only_label', () => {
    const out = started.output();
    expect(started.cliCommand).toBe(
      `TOKEN=$(npm run -s token -- --client documents-caller) && curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${started.port}/internal/documents/1`,
    );
    const label = out.search(/dev only/i);
    expect(label).toBeGreaterThan(out.indexOf(started.cliCommand!));
    const beforeLabel = out.slice(0, label);
    for (const { clientSecret } of clientsOfState()) expect(beforeLabel).not.toContain(clientSecret);
    expect(out.indexOf(started.command)).toBeGreaterThan(label);
  });

  it('the_printed_token_cli_command_answers_200_with_the_document', async () => {
    // As printed, from the directory `npm start` ran in; here the service ran in `cwd`, so the state file is named.
    const command = started.cliCommand!.replace(
      '--client documents-caller',
      `--client documents-caller --state ${join(cwd, '.dev-issuer/state.json')}`,
    );
    const { stdout } = await exec('bash', ['-c', command], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ id: '1', title: 'Quarterly report', body: 'Revenue grew.' });
  });
});
