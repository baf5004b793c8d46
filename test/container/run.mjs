#!/usr/bin/env node
// The real image, built and run: `npm run test:container` (root; needs podman and debootstrap,
// which scripts/local-node-image.sh apt-installs when missing, and `npm run build` done first for
// the dev issuer the check runs on the host).
//
// 1. Builds the stand-in base image (scripts/local-node-image.sh <the Dockerfile's Node version>)
//    and the project's Dockerfile unchanged but for --build-arg NODE_IMAGE.
// 2. Runs the image's filesystem as the image says (User, WorkingDir, Env, Cmd from
//    `podman image inspect`), node as PID 1 of its own PID namespace, on a read-only bind of the
//    root filesystem (what Kubernetes' readOnlyRootFilesystem gives), on the host's loopback: podman
//    run cannot set rlimits on these VMs (see the base script's header).
// 3. Shows: non-root, HEALTHCHECK passes, a config error exits non-zero naming the variables, a
//    valid token is accepted (the dev issuer on the host's loopback), a DELETE's audit call with
//    the service's own M2M token, SIGTERM with requests in flight drains them and exits 0; reports
//    the image size and what takes it.
// Prints `container: N passed, M failed` and exits 1 on any failure.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IMAGE = process.env.CONTAINER_IMAGE_TAG ?? 'localhost/nest-m2m:ci';
const started = Date.now();
const seconds = () => ((Date.now() - started) / 1000).toFixed(1);

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
}

async function sh(cmd, args, options = {}) {
  return run(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...options });
}

/** Streams a long command's output (the builds), failing with its exit code. */
function stream(cmd, args, options = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: 'inherit', ...options });
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
    server.once('error', rej);
  });
}

/** `du -sb` in MB, one decimal. */
async function sizeMb(path) {
  const { stdout } = await sh('du', ['-sb', path]);
  return Math.round(Number(stdout.split('\t')[0]) / 1e5) / 10;
}

// --- 1. build -------------------------------------------------------------------------------
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const nodeVersion = /ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-bookworm-slim/.exec(dockerfile)?.[1];
if (!nodeVersion) throw new Error('the Dockerfile has no ARG NODE_IMAGE=node:X.Y.Z-bookworm-slim');
const base = `localhost/node:${nodeVersion}-bookworm-slim`;
console.log(`=== base image ${base} (scripts/local-node-image.sh)`);
await stream('bash', [join(ROOT, 'scripts/local-node-image.sh'), nodeVersion, base]);
const baseDone = Date.now();
console.log(`=== podman build ${IMAGE} (${seconds()} s so far)`);
await stream(
  'podman',
  ['build', '--format', 'docker', '--isolation=chroot', '--network', 'host', '--build-arg', `NODE_IMAGE=${base}`, '-t', IMAGE, '.'],
  { cwd: ROOT },
);
const buildSeconds = ((Date.now() - baseDone) / 1000).toFixed(1);

const [inspected] = JSON.parse((await sh('podman', ['image', 'inspect', IMAGE])).stdout);
const config = inspected.Config;
const imageEnv = config.Env ?? [];
// podman reports a docker-format image's HEALTHCHECK beside Config, not in it.
const healthcheck = (inspected.Healthcheck ?? config.Healthcheck)?.Test ?? [];
console.log(
  `=== image config: User=${config.User} WorkingDir=${config.WorkingDir} Cmd=${JSON.stringify(config.Cmd)} Env=${JSON.stringify(imageEnv)}`,
);

const mnt = (await sh('podman', ['image', 'mount', IMAGE])).stdout.trim();
// A read-only view of the image's root filesystem: the service must run without writing to it.
const rootfs = mkdtempSync(join(tmpdir(), 'nest-m2m-rootfs-'));
await sh('mount', ['--bind', mnt, rootfs]);
await sh('mount', ['-o', 'remount,bind,ro', rootfs]);

/** The image's User as uid:gid, resolved in its own /etc/passwd. */
function userSpec(user) {
  const [name, group] = String(user || 'root').split(':');
  const passwd = readFileSync(join(mnt, 'etc/passwd'), 'utf8')
    .split('\n')
    .map((l) => l.split(':'));
  const entry = passwd.find((p) => p[0] === name || p[2] === name);
  if (!entry) throw new Error(`user ${name} is not in the image's /etc/passwd`);
  const gid = group
    ? (readFileSync(join(mnt, 'etc/group'), 'utf8')
        .split('\n')
        .map((l) => l.split(':'))
        .find((g) => g[0] === group || g[2] === group)?.[2] ?? group)
    : entry[3];
  return `${entry[2]}:${gid}`;
}
const user = userSpec(config.User);
const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * The image's Cmd as PID 1 of a new PID namespace, chrooted into the read-only root, as its User,
 * with exactly its Env plus `env`, in its WorkingDir.
 */
function startContainer(env) {
  const vars = [...imageEnv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  const cmd = `cd ${shellQuote(config.WorkingDir || '/')} && exec ${config.Cmd.map(shellQuote).join(' ')}`;
  const child = spawn(
    'unshare',
    ['--pid', '--fork', '--mount-proc', 'chroot', `--userspec=${user}`, rootfs, '/usr/bin/env', '-i', ...vars, '/bin/sh', '-c', cmd],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  return { child, exited, stdout: () => out, stderr: () => err };
}

/** The PID (host view) of the container's PID 1: unshare's forked child. */
async function containerPid(container) {
  for (let i = 0; i < 100; i++) {
    try {
      const children = readFileSync(`/proc/${container.child.pid}/task/${container.child.pid}/children`, 'utf8').trim();
      if (children) return Number(children.split(' ')[0]);
    } catch {
      // not forked yet
    }
    await sleep(50);
  }
  throw new Error('unshare did not fork');
}

async function waitForHealth(url, container, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void container.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(
    `the container did not become healthy (exited: ${exited})\nstdout:\n${container.stdout()}\nstderr:\n${container.stderr()}`,
  );
}

/** Exec of a command in the running container's filesystem, user and environment (a HEALTHCHECK). */
async function execInContainer(argv, env) {
  const vars = [...imageEnv, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)];
  return sh('chroot', [`--userspec=${user}`, rootfs, '/usr/bin/env', '-i', ...vars, ...argv]).then(
    () => 0,
    (e) => (typeof e.code === 'number' ? e.code : -1),
  );
}

const { startDevIssuer, DOCUMENTS_API_AUDIENCE, AUDIT_API_AUDIENCE } = await import(
  pathToFileURL(join(ROOT, 'libs/dev-issuer/dist/index.js')).href
);
let issuer;
const running = [];
try {
  // --- 2. config error ---------------------------------------------------------------------
  {
    const c = startContainer({});
    running.push(c);
    const { code } = await c.exited;
    const named = ['AUTH0_DOMAIN', 'AUTH_ISSUER_URL', 'AUTH0_AUDIENCE'].filter((v) => c.stderr().includes(v));
    check(
      'config_error_exits_non_zero_naming_the_variables',
      code !== 0 && code !== null && named.length === 3,
      `exit ${code}; stderr: ${c.stderr().trim().split('\n')[0]}`,
    );
  }

  // --- 3. a configured service on the host's loopback ---------------------------------------
  issuer = await startDevIssuer();
  const secretOf = (id) => issuer.config.clients.find((c) => c.clientId === id).clientSecret;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const serviceEnv = {
    HOST: '127.0.0.1',
    PORT: String(port),
    AUTH_ISSUER_URL: issuer.issuer,
    AUTH0_AUDIENCE: `${DOCUMENTS_API_AUDIENCE},${AUDIT_API_AUDIENCE}`,
    AUTH_TOKEN_DIALECT: 'auth0',
    AUTH_CLIENT_AUTH: 'client_secret_post',
    AUTH0_CLIENT_ID: 'nest-m2m-service',
    AUTH0_CLIENT_SECRET: secretOf('nest-m2m-service'),
    // The audit sibling is the service itself, over HTTP: a DELETE makes a real outgoing M2M call.
    AUDIT_SERVICE_URL: url,
    AUDIT_SERVICE_AUDIENCE: AUDIT_API_AUDIENCE,
    AUTH_JWKS_COOLDOWN_MS: '0',
    AUTH_JWKS_TIMEOUT_MS: '10000',
  };
  const c = startContainer(serviceEnv);
  running.push(c);
  const bootStart = Date.now();
  await waitForHealth(url, c);
  const bootMs = Date.now() - bootStart;
  const pid = await containerPid(c);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const uids = /^Uid:\s+(.*)$/m.exec(status)[1].split(/\s+/).map(Number);
  const nspid = /^NSpid:\s+(.*)$/m.exec(status)[1].split(/\s+/).map(Number);
  const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  check(
    'the_service_runs_as_a_non_root_user',
    uids.every((u) => u !== 0),
    `User=${config.User}, uid ${uids.join('/')}`,
  );
  check(
    'node_is_pid_1_of_its_namespace',
    argv0 === 'node' && nspid.at(-1) === 1,
    `${argv0}, NSpid ${nspid.join(' ')}; healthy ${bootMs} ms after start`,
  );

  const [kind, ...probe] = healthcheck;
  const probeCode = kind === 'CMD' ? await execInContainer(probe, serviceEnv) : -1;
  check('the_healthcheck_command_passes', probeCode === 0, `${kind} ${probe.slice(0, 2).join(' ')} … → exit ${probeCode}`);

  const ready = await fetch(`${url}/health/ready`);
  const token = await issuer.getToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  const auth = { authorization: `Bearer ${token}` };
  const noToken = await fetch(`${url}/internal/documents/1`);
  const withToken = await fetch(`${url}/internal/documents/1`, { headers: auth });
  check(
    'a_valid_token_is_accepted_and_none_refused',
    ready.status === 200 && noToken.status === 401 && withToken.status === 200,
    `ready ${ready.status}, no token ${noToken.status}, token ${withToken.status} ${JSON.stringify(await withToken.json())}`,
  );

  const tokensBefore = issuer.controls.counters().tokensIssued;
  const deleted = await fetch(`${url}/internal/documents/2`, { method: 'DELETE', headers: auth });
  const deletedBody = await deleted.json();
  const auditToken = await issuer.getToken({ clientId: 'auditor', audience: AUDIT_API_AUDIENCE });
  const events = await (await fetch(`${url}/internal/audit-events`, { headers: { authorization: `Bearer ${auditToken}` } })).json();
  check(
    'a_delete_calls_the_audit_sibling_with_the_services_own_token',
    deleted.status === 200 &&
      issuer.controls.counters().tokensIssued - tokensBefore === 2 &&
      JSON.stringify(events).includes(deletedBody.auditEventId),
    `DELETE ${deleted.status} ${JSON.stringify(deletedBody)}`,
  );

  // --- 4. SIGTERM with requests in flight ---------------------------------------------------
  // Tokens signed by a key the service has not seen: each waits on a JWKS refetch that the issuer
  // delays by 1.5 s, so they are in flight when the signal comes.
  await issuer.controls.rotateKeys({ keepOld: true });
  const fresh = await issuer.getToken({ clientId: 'documents-caller', audience: DOCUMENTS_API_AUDIENCE });
  issuer.controls.setDelay('jwks', 1500);
  const inFlight = Array.from({ length: 5 }, (_, i) =>
    fetch(`${url}/internal/documents/${(i % 2) + 1 === 2 ? 3 : 1}`, { headers: { authorization: `Bearer ${fresh}` } }).then(
      (r) => r.status,
      (e) => `error ${e.cause?.code ?? e.message}`,
    ),
  );
  await sleep(400);
  process.kill(pid, 'SIGTERM');
  const statuses = await Promise.all(inFlight);
  const exit = await c.exited;
  issuer.controls.setDelay('jwks', 0);
  check(
    'sigterm_drains_in_flight_requests_and_exits_0',
    statuses.every((s) => s === 200) && exit.code === 0,
    `in flight: ${statuses.join(',')}; exit ${exit.code}${exit.signal ? ` ${exit.signal}` : ''}; ${c.stdout().includes('Shutdown complete') ? '"Shutdown complete" logged' : 'no "Shutdown complete"'}`,
  );
  const lines = c.stdout().split('\n').filter(Boolean);
  check(
    'every_log_line_is_json',
    lines.length > 5 &&
      lines.every((l) => {
        try {
          JSON.parse(l);
          return true;
        } catch {
          return false;
        }
      }),
    `${lines.length} lines`,
  );
} finally {
  for (const r of running) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await issuer?.close();
}

// --- 5. size ------------------------------------------------------------------------------------
const totalMb = Math.round(inspected.Size / 1e5) / 10;
const nm = join(mnt, 'app/node_modules');
const packages = [];
for (const entry of readdirSync(nm)) {
  if (entry.startsWith('.')) continue;
  const names = entry.startsWith('@') ? readdirSync(join(nm, entry)).map((n) => `${entry}/${n}`) : [entry];
  for (const name of names) {
    const path = join(nm, name);
    if (statSync(path).isDirectory()) packages.push({ name, mb: await sizeMb(path) });
  }
}
packages.sort((a, b) => b.mb - a.mb);
const parts = {
  'node binary (/usr/local/bin/node)': await sizeMb(join(mnt, 'usr/local/bin/node')),
  'npm (/usr/local/lib/node_modules/npm)': await sizeMb(join(mnt, 'usr/local/lib/node_modules/npm')),
  'app node_modules': await sizeMb(nm),
  'app dist + libs': (await sizeMb(join(mnt, 'app/dist'))) + (await sizeMb(join(mnt, 'app/libs'))),
  'Debian (/usr less /usr/local, /var, /etc)':
    (await sizeMb(join(mnt, 'usr'))) -
    (await sizeMb(join(mnt, 'usr/local'))) +
    (await sizeMb(join(mnt, 'var'))) +
    (await sizeMb(join(mnt, 'etc'))),
};
// Debian's slim images do not install these (dpkg path-exclude); debootstrap's minbase does.
let docsMb = 0;
for (const dir of ['usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/info'])
  docsMb += await sizeMb(join(mnt, dir)).catch(() => 0);
parts['  of which docs, man pages, locales (not in a real -slim base)'] = docsMb;
console.log(`\n=== image ${IMAGE}: ${totalMb} MB (target < 250 MB)`);
for (const [what, mb] of Object.entries(parts)) console.log(`  ${String(mb.toFixed(1)).padStart(7)} MB  ${what}`);
console.log('  largest packages in /app/node_modules:');
for (const p of packages.slice(0, 8)) console.log(`  ${String(p.mb.toFixed(1)).padStart(7)} MB    ${p.name}`);
// The base is the stand-in (scripts/local-node-image.sh), not the registry's slim image: the total
// is reported against the 250 MB target, and what this repository adds on top of the base is
// checked against a budget, so a heavier dependency or a forgotten cleanup fails here.
const [baseInspected] = JSON.parse((await sh('podman', ['image', 'inspect', base])).stdout);
const ownMb = Math.round((inspected.Size - baseInspected.Size) / 1e5) / 10;
console.log(`  base ${base}: ${Math.round(baseInspected.Size / 1e5) / 10} MB; the Dockerfile's own layers: ${ownMb} MB`);
console.log(`  total ${totalMb} MB ${totalMb < 250 ? 'meets' : 'misses'} the 250 MB target`);
check('the_dockerfiles_own_layers_stay_under_60_mb', ownMb < 60, `${ownMb} MB`);

await sh('umount', [rootfs]).catch(() => undefined);
rmSync(rootfs, { recursive: true, force: true });
await sh('podman', ['image', 'unmount', IMAGE]).catch(() => undefined);
console.log(`\nbuild of the project image ${buildSeconds} s; whole check ${seconds()} s`);
console.log(`container: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
