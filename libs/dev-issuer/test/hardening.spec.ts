/**
 * Issue 13, item 11: what the dev issuer must not let a local attacker (or a web page in the
 * developer's browser) do — grow memory through counters, drive the test controls, or redirect the
 * state file with a symlink.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDevIssuer, writeDevIssuerState, type DevIssuer } from '../src/index.js';
import { postToken } from './helpers.js';

let issuer: DevIssuer;
let dir: string;
beforeAll(async () => {
  issuer = await startDevIssuer({ enableTestControls: true });
  dir = await mkdtemp(join(tmpdir(), 'dev-issuer-hardening-'));
});
afterAll(async () => {
  await issuer.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => issuer.controls.reset());

/** node:http rather than fetch: fetch will not send a Host header of our choosing. */
function send(
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${issuer.url}${path}`, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('dev issuer counters', () => {
  it('counters_keep_no_entry_for_client_ids_that_no_client_has', async () => {
    for (let i = 0; i < 300; i++) {
      await postToken(issuer, {
        grant_type: 'client_credentials',
        client_id: `attacker-${randomUUID()}`,
        client_secret: 'x',
        audience: 'a',
      });
    }
    const counters = issuer.controls.counters();
    expect(counters.tokenRequests).toBe(300);
    expect(Object.keys(counters.tokenRequestsByClient)).toEqual([]);
  });
});

describe('dev issuer test controls', () => {
  it('a_post_that_is_not_json_is_refused_with_415_and_changes_nothing', async () => {
    const kid = issuer.controls.currentKid();
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      {} as Record<string, string>,
    ]) {
      const answer = await send('/__test/rotate', {
        method: 'POST',
        headers,
        body: headers['content-type'] ? '{"keepOld":true}' : undefined,
      });
      expect(answer.status, JSON.stringify(headers)).toBe(415);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'invalid_request' });
    }
    expect(issuer.controls.currentKid()).toBe(kid);
    expect((await send('/__test/rotate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(
      200,
    );
  });

  it('a_foreign_host_or_origin_is_refused_with_403', async () => {
    const json = { 'content-type': 'application/json' };
    const tokens = '{"clientId":"documents-caller","audience":"https://documents.api.local"}';
    for (const headers of [
      { host: 'evil.example' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { host: 'localhost.evil.example:3000' },
    ] as Array<Record<string, string>>) {
      expect(
        (await send('/__test/tokens', { method: 'POST', headers: { ...json, ...headers }, body: tokens })).status,
        JSON.stringify(headers),
      ).toBe(403);
      expect((await send('/__test/counters', { headers })).status, JSON.stringify(headers)).toBe(403);
    }
    for (const headers of [
      {},
      { host: 'localhost:1234' },
      { origin: 'http://127.0.0.1:3000' },
      { origin: 'http://localhost:5173' },
    ] as Array<Record<string, string>>) {
      expect((await send('/__test/counters', { headers })).status, JSON.stringify(headers)).toBe(200);
    }
  });
});

describe('dev issuer state file', () => {
  it('a_symlinked_state_json_is_replaced_not_written_through', async () => {
    const target = join(dir, 'elsewhere.txt');
    await writeFile(target, 'not yours\n');
    const stateDir = join(dir, 'linked');
    await mkdir(stateDir, { mode: 0o700 });
    const file = join(stateDir, 'state.json');
    await symlink(target, file);
    await writeDevIssuerState(issuer, file);
    expect(await readFile(target, 'utf8')).toBe('not yours\n');
    const written = await lstat(file);
    expect(written.isSymbolicLink()).toBe(false);
    expect(written.mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ url: issuer.url });
  });

  it('an_existing_state_directory_is_left_0700', async () => {
    const stateDir = join(dir, 'open');
    await mkdir(stateDir);
    await chmod(stateDir, 0o755);
    await writeDevIssuerState(issuer, join(stateDir, 'state.json'));
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });
});
