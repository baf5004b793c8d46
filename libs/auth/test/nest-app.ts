import { type INestApplication, Module, type ModuleMetadata } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';

/**
 * A Nest application of the given imports and controllers, as a user's app would be (not the
 * service's AppModule), silent and listening on 127.0.0.1 port 0, on Express or Fastify. For specs of
 * the library used alone (its own unit specs and test/'s).
 */
export async function listenTestApp(
  metadata: Pick<ModuleMetadata, 'imports' | 'controllers'>,
  platform: 'express' | 'fastify' = 'express',
): Promise<INestApplication> {
  @Module(metadata)
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] })
    .setLogger(false as never)
    .compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}
