import type { INestApplication, Type } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { AuthModule } from '../src/auth.module.js';

/** A Nest app of `AuthModule.forRoot(options)` and these controllers, listening on 127.0.0.1 (specs). */
export async function listenWithAuth(
  options: Parameters<typeof AuthModule.forRoot>[0],
  controllers: Type[],
  platform: 'express' | 'fastify' = 'express',
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [AuthModule.forRoot(options)], controllers }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}
