import { afterEach, describe, expect, it } from 'vitest';
import { EndlessBodyServer } from '../test/endless-body.server.js';
import { KeysUnavailableError } from './bearer.errors.js';
import { fetchJson, FetchError } from './http-fetch.js';
import { KeySource } from './key-source.js';

const LIMIT = 512 * 1024;

describe('fetchJson caps memory, not just the answer', () => {
  let server: EndlessBodyServer;
  afterEach(() => server.close());

  it('a_chunked_body_without_content_length_is_aborted_once_it_passes_512_KiB', async () => {
    server = await new EndlessBodyServer().start();
    const error = await fetchJson(`${server.url}/.well-known/jwks.json`, 10_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect((error as FetchError).message).toBe(`GET ${server.url}/.well-known/jwks.json answered a body over ${LIMIT} bytes`);
    // The server streams 64 MiB unless the client hangs up; what is under 16 MiB sat in socket buffers, not in our heap.
    expect(server.sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a_body_within_the_limit_is_read_whole', async () => {
    server = await new EndlessBodyServer({ prefix: '{"keys":["', suffix: '"]}', maxBytes: LIMIT - 64 * 1024 }).start();
    const body = (await fetchJson(server.url, 10_000)) as { keys: string[] };
    expect(body.keys[0]?.length).toBeGreaterThan(400 * 1024);
  });

  it('a_key_source_facing_an_endless_jwks_answers_503_and_stays_small', async () => {
    server = await new EndlessBodyServer().start();
    const keys = new KeySource({
      resolveJwksUri: async () => `${server.url}/.well-known/jwks.json`,
      algorithms: ['RS256'],
      timeoutMs: 10_000,
      cooldownMs: 10_000,
      maxAgeMs: 60_000,
      staleIfErrorMs: 60_000,
      clockToleranceMs: 0,
      clock: { now: () => Date.now() },
    });
    await expect(keys.getKey('k', 'RS256')).rejects.toBeInstanceOf(KeysUnavailableError);
    expect(server.sent).toBeLessThan(16 * 1024 * 1024);
  });
});
