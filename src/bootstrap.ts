import type { Server } from 'node:http';
import type { INestApplication, LoggerService, LogLevel } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { AppModule, type AppModuleOptions } from './app.module.js';
import type { AppConfig } from './config/app-config.js';
import { APP_CONFIG } from './config/config.constants.js';
import { createNestApplication } from './http-platform.js';
import { OpenApiService } from './openapi/openapi.service.js';
import { attachManagementPort } from './management/management-port.js';
import { applyServerLimits } from './server-limits.js';
import { enableGracefulShutdown } from './shutdown/graceful-shutdown.js';

/** Creates the application exactly as `main.ts` runs it (tests use this too). */
export async function createApp(options: AppModuleOptions = {}, logger?: LoggerService | LogLevel[] | false): Promise<INestApplication> {
  // `logger: false` (tests) silences the request logs too, unless the caller sets LOG_LEVEL itself.
  const env = logger === false ? { LOG_LEVEL: 'silent', ...options.env } : options.env;
  const module = AppModule.forRoot({ ...options, env }); // validates the environment, HTTP_PLATFORM included
  const app = await createNestApplication(module, env?.HTTP_PLATFORM ?? process.env.HTTP_PLATFORM, {
    abortOnError: false,
    // Nest's own log lines (start-up included) go through pino once it is installed below.
    bufferLogs: logger === undefined,
    ...(logger !== undefined && { logger }),
  });
  if (logger === undefined) app.useLogger(app.get(PinoLogger));
  const config = app.get<AppConfig>(APP_CONFIG);
  const server = app.getHttpServer() as Server;
  applyServerLimits(server, config.env);
  // Shutdown hooks on SIGTERM/SIGINT, with in-flight requests drained first and a time bound.
  const stopListening = enableGracefulShutdown(app, { timeoutMs: config.env.SHUTDOWN_TIMEOUT_MS });
  server.once('close', stopListening);
  await app.get(OpenApiService).setup(app);
  // MANAGEMENT_PORT: metrics, docs and readiness details on a listener of their own (listenManagement).
  attachManagementPort(app, config.env);
  return app;
}
