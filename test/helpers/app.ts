import type { INestApplication } from '@nestjs/common';
import type { Clock } from '@nest-m2m/auth';
import { afterAll, beforeAll } from 'vitest';
import { createApp } from '../../src/bootstrap.js';
import { TestIssuer } from '../../libs/auth/test/test-issuer.js';

/** Boots the real AppModule against a test issuer, on 127.0.0.1 port 0. */
export async function startApp(issuer: TestIssuer, env: Record<string, string | undefined> = {}, clock?: Clock): Promise<INestApplication> {
  const app = await createApp(
    {
      env: {
        NODE_ENV: 'test',
        AUTH_ISSUER_URL: issuer.issuer,
        AUTH0_AUDIENCE: issuer.audience,
        AUTH_JWKS_COOLDOWN_MS: '1000',
        // Generous for a test issuer on loopback in a loaded CI: a spec about timeouts sets its own.
        AUTH_JWKS_TIMEOUT_MS: '5000',
        LOG_LEVEL: 'silent',
        ...env,
      },
      clock,
    },
    false,
  );
  await app.listen(0, '127.0.0.1');
  return app;
}

/** A test issuer and the app on it, started before the suite's tests and closed after them. */
export function appOnTestIssuer(env: Record<string, string | undefined> = {}): {
  readonly issuer: TestIssuer;
  readonly app: INestApplication;
} {
  const running = {} as { issuer: TestIssuer; app: INestApplication };
  beforeAll(async () => {
    running.issuer = await new TestIssuer().start();
    running.app = await startApp(running.issuer, env);
  });
  afterAll(async () => {
    await running.app?.close();
    await running.issuer?.close();
  });
  return running;
}

/** `expectFailsWith`-style check of an RFC 6750 answer. */
export function challenge(params: { error?: string; description?: string; scope?: string }, realm = 'nest-m2m'): string {
  const parts = [`realm="${realm}"`];
  if (params.error) parts.push(`error="${params.error}"`);
  if (params.description) parts.push(`error_description="${params.description}"`);
  if (params.scope !== undefined) parts.push(`scope="${params.scope}"`);
  return `Bearer ${parts.join(', ')}`;
}
