import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Test } from '@nestjs/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { M2M_TOKEN_CACHE } from './m2m.constants.js';
import { M2MModule } from './m2m.module.js';
import type { M2MModuleOptions } from './m2m.options.js';
import { M2MTokenService } from './m2m-token.service.js';
import { MemoryTokenCache } from './memory-token.cache.js';
import { RedisTokenCache } from './redis-token.cache.js';
import { cacheKey, type TokenCache } from './token-cache.js';
import { createTokenCache, createTokenSynchronizer } from './token-cache.provider.js';
import { RedisTokenSynchronizer } from './redis-token.synchronizer.js';
import { LocalTokenSynchronizer } from './token-synchronizer.js';

const run = promisify(execFile);
const REDIS_URL = 'redis://127.0.0.1:6379';
// Nothing listens on the discard port: a test that reaches the token endpoint fails loudly.
const base: M2MModuleOptions = { tokenEndpoint: 'http://127.0.0.1:9/oauth/token', clientId: 'svc', clientSecret: 'secret', maxAttempts: 1 };

describe('the token cache provider (M2M_TOKEN_CACHE)', () => {
  const opened: TokenCache[] = [];
  const open = async (options: M2MModuleOptions) => {
    const cache = await createTokenCache(options);
    opened.push(cache);
    return cache;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
  });

  it('without_cacheUrl_tokens_are_cached_in_process', async () => {
    expect(await open(base)).toBeInstanceOf(MemoryTokenCache);
  });

  it('with_cacheUrl_the_cache_is_redis_and_shared_by_every_instance', async () => {
    const options = { ...base, cacheUrl: REDIS_URL, cacheKeyPrefix: `nest-m2m-test:${randomBytes(6).toString('hex')}:` };
    const [a, b] = [await open(options), await open(options)];
    expect(a).toBeInstanceOf(RedisTokenCache);
    const token = { accessToken: 'shared', tokenType: 'Bearer', expiresAt: Date.now() + 60_000, refreshAt: Date.now() + 30_000 };
    await a.set('entry', token);
    expect(await b.get('entry')).toEqual(token);
    await a.delete('entry');
  });

  it('a_rediss_url_speaks_tls_to_redis_and_a_redis_url_does_not', async () => {
    // No TLS Redis here: a plain TCP listener on 127.0.0.1 records the first bytes each client sends.
    // A TLS ClientHello opens with a handshake record (0x16); RESP commands open with '*'.
    const firstBytes: number[] = [];
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('data', (chunk) => firstBytes.push(chunk[0]!));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const firstByteOf = async (scheme: string) => {
        firstBytes.length = 0;
        const cache = await createTokenCache({ ...base, cacheUrl: `${scheme}://127.0.0.1:${port}` });
        // Nothing answers: the read falls back to the in-process copy after the connect timeout.
        expect(await cache.get('entry')).toBeUndefined();
        await cache.close();
        return firstBytes[0];
      };
      expect(await firstByteOf('rediss')).toBe(0x16);
      expect(await firstByteOf('redis')).toBe('*'.charCodeAt(0));
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // A real `rediss://` server on 127.0.0.1: Debian's redis-server has TLS; .ci/run installs it and openssl.
  it('a_rediss_url_shares_tokens_through_a_tls_redis_and_verifies_its_certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nest-m2m-tls-'));
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const redis = spawn('redis-server', [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      cert,
      '--tls-key-file',
      key,
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        redis.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('Ready to accept connections') && resolve());
        redis.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
      });
      // Two caches in a fresh process, as two replicas: what one stores, the other reads through Redis.
      const script = `
        const { createTokenCache } = await import(${JSON.stringify(pathToFileURL(fileURLToPath(new URL('./token-cache.provider.ts', import.meta.url))).href)});
        const options = { tokenEndpoint: 'http://127.0.0.1:9/t', clientId: 'svc', clientSecret: 's', cacheUrl: 'rediss://127.0.0.1:${port}', cacheEncryptionKey: '${randomBytes(32).toString('hex')}' };
        const [a, b] = [await createTokenCache(options), await createTokenCache(options)];
        await a.set('entry', { accessToken: 'over-tls', tokenType: 'Bearer', expiresAt: Date.now() + 60000, refreshAt: Date.now() + 30000 });
        const shared = await b.get('entry');
        await a.close();
        await b.close();
        console.log('RESULT ' + JSON.stringify(shared?.accessToken ?? null));`;
      const replicas = async (env: Record<string, string>) => {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          env: { ...process.env, ...env },
          timeout: 20_000,
        });
        return { shared: JSON.parse(stdout.split('RESULT ')[1]!) as string | null, logs: stdout };
      };
      // The operator's private CA, trusted the Node way.
      expect((await replicas({ NODE_EXTRA_CA_CERTS: cert })).shared).toBe('over-tls');
      // Without it the certificate is refused: nothing goes to that server, each replica keeps its own copy.
      const untrusted = await replicas({});
      expect(untrusted.shared).toBeNull();
      expect(untrusted.logs).toMatch(/Redis token cache unavailable \(self[- ]signed certificate/);
    } finally {
      redis.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the_synchronizer_is_fleet_wide_with_the_redis_cache_and_per_process_with_any_other', async () => {
    const redis = await open({ ...base, cacheUrl: REDIS_URL });
    expect(createTokenSynchronizer(redis, base)).toBeInstanceOf(RedisTokenSynchronizer);
    expect(createTokenSynchronizer(await open(base), base)).toBeInstanceOf(LocalTokenSynchronizer);
  });

  it('a_cache_given_in_the_options_is_the_one_the_module_provides_and_the_service_reads', async () => {
    const mine = new MemoryTokenCache();
    const key = cacheKey({ tokenEndpoint: base.tokenEndpoint!, clientId: 'svc', audience: 'https://api.example.test', scopes: [] });
    await mine.set(key, {
      accessToken: 'from-my-cache',
      tokenType: 'Bearer',
      expiresAt: Date.now() + 60_000,
      refreshAt: Date.now() + 30_000,
    });
    const moduleRef = await Test.createTestingModule({ imports: [M2MModule.forRoot({ ...base, cache: mine })] }).compile();
    expect(moduleRef.get(M2M_TOKEN_CACHE)).toBe(mine);
    expect((await moduleRef.get(M2MTokenService).getToken({ audience: 'https://api.example.test' })).accessToken).toBe('from-my-cache');
    await moduleRef.close();
  });

  it('cache_and_cacheUrl_together_are_a_startup_error_naming_both', async () => {
    await expect(open({ ...base, cache: new MemoryTokenCache(), cacheUrl: REDIS_URL })).rejects.toThrow(/'cache' and 'cacheUrl'/);
  });

  it('with_ioredis_not_installed_the_package_loads_and_a_cacheUrl_is_a_startup_error_naming_the_fix', async () => {
    // A fresh Node process in which 'ioredis' cannot be resolved, running the built package as users do.
    const hideIoredis = `export async function resolve(specifier, context, next) {
      if (specifier === 'ioredis') throw Object.assign(new Error("Cannot find package 'ioredis'"), { code: 'ERR_MODULE_NOT_FOUND' });
      return next(specifier, context);
    }`;
    const script = `
      import { register } from 'node:module';
      register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hideIoredis)}));
      await import('reflect-metadata');
      const m2m = await import('@nest-m2m/auth/m2m');
      const { NestFactory } = await import('@nestjs/core');
      const options = { tokenEndpoint: 'http://127.0.0.1:9/t', clientId: 'svc', clientSecret: 's', cacheUrl: '${REDIS_URL}' };
      const boot = await NestFactory.createApplicationContext(m2m.M2MModule.forRoot(options), { logger: false, abortOnError: false }).then(() => ({}), (e) => e);
      const byHand = await new m2m.M2MTokenService(options).getToken({ audience: 'https://api.example.test' }).then(() => ({}), (e) => e);
      console.log(JSON.stringify({ loaded: typeof m2m.M2MModule, boot: [boot.code, boot.message], byHand: byHand.code }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../../../..', import.meta.url)),
    });
    expect(JSON.parse(stdout)).toEqual({
      loaded: 'function',
      boot: [
        'ERR_M2M_MISSING_PEER_DEPENDENCY',
        "'cacheUrl' is set (a token cache in Redis) but the optional peer dependency 'ioredis' is not installed: npm install ioredis",
      ],
      byHand: 'ERR_M2M_MISSING_PEER_DEPENDENCY',
    });
  });
});
