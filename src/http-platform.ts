import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

/**
 * Nest on Express (the default) or on Fastify (`HTTP_PLATFORM=fastify`), whose leaner request path
 * roughly doubles what one core serves (figures in bench/README.md). Fastify is loaded only when
 * chosen.
 */
export async function createNestApplication(module: object, platform: string | undefined, options: NestApplicationOptions): Promise<INestApplication> {
  if (platform !== 'fastify') return NestFactory.create(module, options);
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  return NestFactory.create(module, new FastifyAdapter(), options);
}
