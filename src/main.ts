import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap.js';
import { ConfigError, isEmbeddedMode, validateEnv } from './config/app-config.js';
import { listenManagement } from './management/management-port.js';

async function main(): Promise<void> {
  const logger = new Logger('Main');
  // A local `.env` (never committed) fills in what the real environment leaves unset.
  if (existsSync('.env')) process.loadEnvFile('.env');
  const env = validateEnv(process.env);
  // The dev issuer is loaded only here: a production process never imports it (nor has it installed).
  const embedded = isEmbeddedMode(env) ? await (await import('./embedded.js')).startEmbedded(env) : undefined;
  const app = await createApp({ env: embedded?.env });
  const host = embedded ? '127.0.0.1' : env.HOST;
  const port = Number(embedded?.env.PORT ?? env.PORT);
  await app.listen(port, host);
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  logger.log(`nest-m2m listening on http://${shownHost}:${port}`);
  const management = await listenManagement(app);
  if (management) logger.log(`management (metrics, docs, readiness details) on http://${shownHost}:${management.port}`);
  if (embedded) {
    process.once('beforeExit', () => void embedded.issuer.close());
    // After the start-up log lines: pino writes them asynchronously (a worker thread with
    // pino-pretty), so printing at once would bury the command above them.
    setTimeout(() => embedded.printQuickStart(port), 300);
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Start-up failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
