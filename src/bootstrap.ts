import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule, type AppModuleOptions } from './app.module.js';

/** Creates the application exactly as `main.ts` runs it (tests use this too). */
export async function createApp(
  options: AppModuleOptions = {},
  logger?: LoggerService | LogLevel[] | false,
): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(options), { abortOnError: false, ...(logger !== undefined && { logger }) });
  app.enableShutdownHooks();
  return app;
}
