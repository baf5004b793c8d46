import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort, type RunningApp, spawnApp, stopApp, waitForHealth } from '../helpers/built-app.js';
import { describeOutput, killRunningCommands, run, runOk } from './helpers/commands.js';
import { addedToApp, type PackageLock } from './helpers/install-footprint.js';
import {
  type ConsumerAppSpec,
  createConsumerApp,
  ESM_TSCONFIG,
  type InstalledApp,
  previousMinorRange,
  rootVersion,
} from './helpers/consumer-app.js';

/**
 * Fresh apps, written from scratch, that install the packed libraries (not the workspaces) next to
 * their own dependencies from the registry, type-check against the published declarations, and
 * serve real HTTP on 127.0.0.1 against the dev issuer started from the installed package.
 */
const NEST = rootVersion('@nestjs/core');
const PREVIOUS_NEST = previousMinorRange(NEST);

/** What npm may install for `wanted`: that exact version, or any patch of a `~x.y.0` range. */
function installedAs(wanted: string): RegExp {
  if (!wanted.startsWith('~')) return new RegExp(`^${wanted.replaceAll('.', '\\.')}$`);
  const [major, minor] = wanted.slice(1).split('.');
  return new RegExp(`^${major}\\.${minor}\\.\\d+$`);
}

const APPS: (ConsumerAppSpec & { title: string; moduleKind: 'esm' | 'cjs'; expectedNest: RegExp })[] = [
  {
    title: `an ESM app (nodenext) on Nest ${NEST}`,
    name: 'esm',
    type: 'module',
    nest: NEST,
    expectedNest: installedAs(NEST),
    moduleKind: 'esm',
    tsconfigs: { 'tsconfig.json': ESM_TSCONFIG },
  },
  {
    // A Nest app that has been CommonJS for years: `module: commonjs` with the node10 resolution
    // its tsconfig has always had (TS 6 wants the deprecation acknowledged; node10 finds
    // `@nest-m2m/auth/m2m` through `typesVersions`). The second tsconfig is what `nest new` writes
    // today for a CommonJS app (`nodenext`, no "type"): TS reads the `exports` map instead.
    title: `a CommonJS app (commonjs + node10, and nodenext without "type") on Nest ${NEST}`,
    name: 'cjs',
    nest: NEST,
    expectedNest: installedAs(NEST),
    moduleKind: 'cjs',
    tsconfigs: {
      'tsconfig.json': { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' },
      'tsconfig.nodenext.json': { module: 'nodenext', moduleResolution: 'nodenext' },
    },
  },
  {
    title: `an ESM app on the previous Nest minor (${PREVIOUS_NEST})`,
    name: 'nest-previous-minor',
    type: 'module',
    nest: PREVIOUS_NEST,
    expectedNest: installedAs(PREVIOUS_NEST),
    moduleKind: 'esm',
    tsconfigs: { 'tsconfig.json': ESM_TSCONFIG },
  },
];

interface IssuerInfo {
  url: string;
  issuer: string;
  jwksUri: string;
  tokenEndpoint: string;
  documentsAudience: string;
  auditAudience: string;
  secrets: Record<string, string>;
}

describe('consumer apps installing the packed @nest-m2m packages', { timeout: 300_000 }, () => {
  let root: string;
  const installs = new Map<string, Promise<InstalledApp>>();
  const processes: RunningApp[] = [];
  const timings: Record<string, Record<string, string>> = {};
  const record = (app: string, step: string, ms: number) => ((timings[app] ??= {})[step] = `${(ms / 1000).toFixed(1)}s`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nest-m2m-consumers-'));
    const packed = inject('packedLibraries');
    // In parallel: npm install waits on the network and the disk more than on the CPU.
    for (const spec of APPS) {
      const install = createConsumerApp(root, spec, packed);
      install.then(
        (app) => record(spec.name, 'npm install', app.installMs),
        () => undefined,
      );
      installs.set(spec.name, install);
    }
    // Each app's own describe rethrows its own install failure.
    await Promise.allSettled(installs.values());
  }, 300_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => stopApp(p)));
    killRunningCommands();
    if (root) await rm(root, { recursive: true, force: true });
    console.log(
      `consumer app timings:\n${Object.entries(timings)
        .map(([app, steps]) => `  ${app}: ${JSON.stringify(steps)}`)
        .join('\n')}`,
    );
  }, 60_000);

  for (const spec of APPS) {
    describe(spec.title, () => {
      let app: InstalledApp;
      beforeAll(async () => {
        app = await installs.get(spec.name)!;
      }, 300_000);

      it('installs_one_copy_of_nest_shared_with_the_libraries', async () => {
        const ls = await run('npm', ['ls', '@nestjs/core', '@nestjs/common', '--all', '--json'], { cwd: app.dir });
        expect(ls.code, `npm ls reports a problem (invalid or missing peer?)\n${describeOutput(ls)}`).toBe(0);
        const versions = collectVersions(JSON.parse(ls.stdout) as LsNode);
        for (const name of ['@nestjs/core', '@nestjs/common']) {
          expect([...(versions.get(name) ?? [])], `${name} versions in the tree`).toHaveLength(1);
          expect([...versions.get(name)!][0]).toMatch(spec.expectedNest);
        }
        const lock = JSON.parse(await readFile(join(app.dir, 'package-lock.json'), 'utf8')) as PackageLock;
        const nestCopies = Object.keys(lock.packages).filter(
          (path) => /node_modules\/@nestjs\/[^/]+$/.test(path) && path.split('node_modules/').length > 2,
        );
        expect(nestCopies, 'nested @nestjs packages').toEqual([]);
        const added = addedToApp(lock, '@nest-m2m/auth', ['@nest-m2m/dev-issuer']);
        console.log(
          `${spec.name}: @nest-m2m/auth adds ${added} packages to this app (${Object.keys(lock.packages).length - 1} installed in all)`,
        );
      });

      it('type_checks_with_skipLibCheck_false_and_compiles', async () => {
        const started = performance.now();
        for (const tsconfig of Object.keys(spec.tsconfigs)) {
          await runOk('node', ['node_modules/typescript/bin/tsc', '-p', tsconfig, '--pretty', 'false'], { cwd: app.dir });
        }
        record(spec.name, 'tsc', performance.now() - started);
        const compiled = await readFile(join(app.dir, 'dist/app.module.js'), 'utf8');
        if (spec.moduleKind === 'cjs') expect(compiled).toContain('require("@nest-m2m/auth/m2m")');
        else expect(compiled).toMatch(/^import .* from '@nest-m2m\/auth\/m2m';$/m);
      });

      it('runs_the_dev_issuer_cli_through_npx', async () => {
        const help = await run('npx', ['--no', 'nest-m2m-dev-issuer', 'token', '--help'], { cwd: app.dir });
        expect(help.code, describeOutput(help)).toBe(0);
        expect(help.stdout + help.stderr).toMatch(/Usage: nest-m2m-dev-issuer token/);
      });

      describe('served against the dev issuer from the installed package', () => {
        let issuer: IssuerInfo;
        let server: RunningApp;
        const tokenFor = (clientId: string, audience: string) => clientCredentialsToken(issuer, clientId, audience);
        const get = (path: string, token?: string) =>
          fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

        beforeAll(async () => {
          const started = performance.now();
          const issuerProcess = await spawnApp({}, { cwd: app.dir, command: ['node', 'dist/dev-issuer.js'] });
          processes.push(issuerProcess);
          issuer = JSON.parse(await firstLine(issuerProcess)) as IssuerInfo;
          const serviceSecret = issuer.secrets['nest-m2m-service'];
          if (serviceSecret === undefined) throw new Error('The dev issuer printed no secret for nest-m2m-service');
          server = await spawnApp(
            {
              PORT: String(await freePort()),
              AUTH_ISSUER: issuer.issuer,
              AUTH_JWKS_URI: issuer.jwksUri,
              AUTH_TOKEN_URL: issuer.tokenEndpoint,
              DOCUMENTS_AUDIENCE: issuer.documentsAudience,
              AUDIT_AUDIENCE: issuer.auditAudience,
              M2M_CLIENT_ID: 'nest-m2m-service',
              M2M_CLIENT_SECRET: serviceSecret,
            },
            { cwd: app.dir, command: ['node', 'dist/main.js'] },
          );
          processes.push(server);
          await waitForHealth(server);
          record(spec.name, 'issuer + app boot', performance.now() - started);
        }, 120_000);

        it('no_token_is_401_with_a_bearer_challenge', async () => {
          const res = await get('/documents/1');
          expect(res.status).toBe(401);
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="[^"]*"$/);
        });

        it('a_token_without_the_scope_is_403_insufficient_scope', async () => {
          const res = await get('/documents/1', await tokenFor('auditor', issuer.auditAudience));
          expect(res.status).toBe(403);
          const challenge = res.headers.get('www-authenticate') ?? '';
          expect(challenge).toMatch(/^Bearer realm="[^"]*"/);
          expect(challenge).toContain('error="insufficient_scope"');
          expect(challenge).toContain('scope="read:documents"');
        });

        it('a_token_with_the_scope_is_200_with_the_caller_as_principal', async () => {
          const res = await get('/documents/1', await tokenFor('documents-caller', issuer.documentsAudience));
          expect(res.status).toBe(200);
          expect(await res.json()).toEqual({ id: '1', clientId: 'documents-caller' });
        });

        it('several_sibling_calls_share_one_token_request', async () => {
          const token = await tokenFor('documents-caller', issuer.documentsAudience);
          const report = () =>
            fetch(`${server.url}/documents/1/report?calls=4`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
          for (const round of [1, 2]) {
            const res = await report();
            expect(res.status, `report round ${round}: ${server.stderr()}`).toBe(200);
            // Four calls through the SiblingClient and one by hand with M2MTokenService, concurrently.
            expect(await res.json()).toEqual({ statuses: Array(5).fill(201), callers: Array(5).fill('nest-m2m-service') });
          }
          const counters = (await (await fetch(`${issuer.url}/__test/counters`)).json()) as {
            tokenRequestsByClient: Record<string, number>;
          };
          expect(counters.tokenRequestsByClient['nest-m2m-service']).toBe(1);
        });
      });
    });
  }
});

interface LsNode {
  version?: string;
  dependencies?: Record<string, LsNode>;
}

function collectVersions(node: LsNode, into = new Map<string, Set<string>>()): Map<string, Set<string>> {
  for (const [name, child] of Object.entries(node.dependencies ?? {})) {
    if (child.version) (into.get(name) ?? into.set(name, new Set()).get(name)!).add(child.version);
    collectVersions(child, into);
  }
  return into;
}

/** The first line the process prints, or its output when it exits first or takes over 20 s. */
async function firstLine(child: RunningApp): Promise<string> {
  const deadline = Date.now() + 20_000;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const newline = child.stdout().indexOf('\n');
    if (newline >= 0) return child.stdout().slice(0, newline);
    await sleep(20);
  }
  throw new Error(`no output line (exited: ${exited})\nstdout:\n${child.stdout()}\nstderr:\n${child.stderr()}`);
}

/** A real client-credentials grant, as the app's callers would get their tokens. */
async function clientCredentialsToken(issuer: IssuerInfo, clientId: string, audience: string): Promise<string> {
  const res = await fetch(issuer.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credentials', client_id: clientId, client_secret: issuer.secrets[clientId], audience }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`token for ${clientId}: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
