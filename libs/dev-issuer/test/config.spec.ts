import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  DevIssuerConfigError,
  DOCUMENTS_API_AUDIENCE,
  loadDevIssuerConfig,
  readDevIssuerState,
  removeDevIssuerState,
  startDevIssuer,
  writeDevIssuerState,
  type DevIssuerConfig,
} from '../src/index.js';
import { credentials, postToken } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dev-issuer-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

async function configError(config: unknown): Promise<DevIssuerConfigError> {
  const error = await loadDevIssuerConfig(config as DevIssuerConfig).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DevIssuerConfigError);
  return error as DevIssuerConfigError;
}

describe('dev issuer config validation', () => {
  it('lists every schema problem at once, with its path', async () => {
    const error = await configError({
      apis: [{ identifier: '', scopes: ['has space'], tokenLifetimeSeconds: -1 }],
      clients: [{ clientId: 'x', clientSecrett: 'typo', tokenEndpointAuthMethod: 'magic', grants: [], quotaPerHour: 0 }],
    });
    expect(error.code).toBe('ERR_DEV_ISSUER_CONFIG');
    expect(error.issues).toEqual(
      expect.arrayContaining([
        'apis[0].identifier: must not be empty',
        expect.stringMatching(/^apis\[0\]\.scopes\[0\]: must be a scope token/),
        expect.stringMatching(/^apis\[0\]\.tokenLifetimeSeconds: /),
        expect.stringMatching(/^clients\[0\]\.tokenEndpointAuthMethod: /),
        expect.stringMatching(/^clients\[0\]\.quotaPerHour: /),
        expect.stringMatching(/^clients\[0\]: Unrecognized key: "clientSecrett"/),
      ]),
    );
    expect(error.issues).toHaveLength(6);
    expect(error.message).toContain('Invalid dev issuer config (config object):');
    for (const issue of error.issues) expect(error.message).toContain(issue);
  });

  it('lists every problem between entries: unknown audiences and scopes, duplicates, missing keys', async () => {
    const error = await configError({
      apis: [
        { identifier: 'https://a.local', scopes: ['read:a'] },
        { identifier: 'https://a.local', scopes: [] },
      ],
      clients: [
        {
          clientId: 'one',
          grants: [
            { audience: 'https://nowhere.local', scopes: [] },
            { audience: 'https://a.local', scopes: ['write:a'] },
          ],
        },
        { clientId: 'one', tokenEndpointAuthMethod: 'private_key_jwt', grants: [] },
      ],
    });
    expect(error.issues).toEqual([
      'apis[1].identifier: duplicate API "https://a.local"',
      'clients[0].grants[0].audience: no API with identifier "https://nowhere.local"',
      'clients[0].grants[1].scopes: "write:a" is not a scope of "https://a.local"',
      'clients[1].clientId: duplicate client "one"',
      'clients[1].jwks: required when tokenEndpointAuthMethod is "private_key_jwt"',
    ]);
  });

  it('refuses private keys and unusable keys in a client jwks', async () => {
    const error = await configError({
      apis: [],
      clients: [
        {
          clientId: 'a',
          tokenEndpointAuthMethod: 'private_key_jwt',
          jwks: { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', d: 'secret' }] },
          grants: [],
        },
        { clientId: 'b', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'RSA', n: '', e: '' }] }, grants: [] },
        { clientId: 'c', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', alg: 'HS256' }] }, grants: [] },
      ],
    });
    expect(error.issues[0]).toMatch(/^clients\[0\]\.jwks\.keys\[0\]: must be a public key/);
    expect(error.issues).toHaveLength(1);
    const usable = await configError({
      apis: [],
      clients: [
        { clientId: 'b', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'RSA', n: '', e: '' }] }, grants: [] },
        { clientId: 'c', tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', alg: 'HS256' }] }, grants: [] },
      ],
    });
    expect(usable.issues).toEqual([
      expect.stringMatching(/^clients\[0\]\.jwks\.keys\[0\]: not a usable RS256 public key/),
      'clients[1].jwks.keys[0].alg: "HS256" is not one of RS256, RS384, PS256',
    ]);
  });

  it('names the file in errors about a config file', async () => {
    const missing = join(dir, 'missing.json');
    await expect(loadDevIssuerConfig(missing)).rejects.toThrow(`Invalid dev issuer config (${missing}):\n  - cannot read file: ENOENT`);
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ "apis": [');
    await expect(loadDevIssuerConfig(broken)).rejects.toThrow(/not valid JSON/);
    const wrong = join(dir, 'wrong.json');
    await writeFile(wrong, JSON.stringify({ apis: 'none' }));
    await expect(startDevIssuer({ config: wrong })).rejects.toThrow(/apis: .*\n {2}- clients: /);
  });

  it('loads the committed sample config, and fills secrets only for secret clients', async () => {
    const config = await loadDevIssuerConfig('dev-issuer.sample.json');
    const byId = Object.fromEntries(config.clients.map((c) => [c.clientId, c]));
    expect(byId['auditor']!.clientSecret).toBe('local-dev-only-auditor-secret-not-for-real-use');
    expect(byId['documents-caller']!.clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(byId['documents-caller']!.tokenEndpointAuthMethod).toBe('client_secret_post');
    expect(byId['partner-batch']!.clientSecret).toBeUndefined();
    expect(byId['partner-batch']!.jwks!.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256' });
  });

  it('does not modify the config object it was given', async () => {
    const input: DevIssuerConfig = { apis: [{ identifier: 'https://a.local', scopes: [] }], clients: [{ clientId: 'a', grants: [] }] };
    const snapshot = structuredClone(input);
    const issuer = await startDevIssuer({ config: input });
    await issuer.close();
    expect(input).toEqual(snapshot);
    expect(issuer.config.clients[0]!.clientSecret).toBeDefined();
  });
});

describe('dev issuer start-up guards', () => {
  it('refuses to start when NODE_ENV is production', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    await expect(startDevIssuer()).rejects.toThrow(/Refusing to start the dev issuer: NODE_ENV is "production".*allowProduction/);
  });

  it('starts in production only with allowProduction', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const issuer = await startDevIssuer({ allowProduction: true });
    await issuer.close();
  });

  it('refuses a non-loopback host', async () => {
    await expect(startDevIssuer({ host: '0.0.0.0' })).rejects.toThrow(/only listens on loopback/);
  });

  it('listens on IPv6 loopback with a bracketed URL', async () => {
    const issuer = await startDevIssuer({ host: '::1' }).catch(() => undefined);
    if (!issuer) return; // no IPv6 on this machine
    try {
      expect(issuer.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
      expect((await postToken(issuer, credentials(issuer, 'documents-caller', DOCUMENTS_API_AUDIENCE))).status).toBe(200);
    } finally {
      await issuer.close();
    }
  });

  it('refuses a token lifetime that is not a positive integer', async () => {
    await expect(startDevIssuer({ tokenLifetimeSeconds: 0 })).rejects.toThrow(TypeError);
  });

  it('refuses a clock without now()', async () => {
    await expect(startDevIssuer({ clock: {} as never })).rejects.toThrow("'clock' must have a now() method");
  });
});

describe('dev issuer state file', () => {
  it('round-trips endpoints and client credentials through a 0600 file', async () => {
    const issuer = await startDevIssuer();
    try {
      const file = join(dir, 'state', 'state.json');
      expect(await writeDevIssuerState(issuer, file)).toBe(file);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const state = await readDevIssuerState(file);
      expect(state).toEqual({
        url: issuer.url,
        issuer: issuer.issuer,
        tokenEndpoint: issuer.tokenEndpoint,
        clients: issuer.config.clients.map((c) => ({
          clientId: c.clientId,
          clientSecret: c.clientSecret,
          audiences: c.grants.map((g) => g.audience),
          tokenEndpointAuthMethod: 'any',
        })),
      });
      await removeDevIssuerState(file);
      await expect(readFile(file)).rejects.toThrow(/ENOENT/);
    } finally {
      await issuer.close();
    }
  });

  it('refuses a malformed state file with a message naming it', async () => {
    const file = join(dir, 'bad-state.json');
    await writeFile(file, JSON.stringify({ url: 1 }));
    await expect(readDevIssuerState(file)).rejects.toThrow(`Dev issuer state file ${file} is malformed`);
  });
});
