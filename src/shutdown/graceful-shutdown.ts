import type { Server } from 'node:http';
import { type INestApplication, Logger } from '@nestjs/common';

export interface GracefulShutdownOptions {
  /** The whole sequence must end within this; past it the process exits with code 1. */
  timeoutMs: number;
  signals?: NodeJS.Signals[];
  /** Runs after the application has closed (e.g. the embedded dev issuer). */
  onClosed?: () => Promise<void> | void;
  exit?: (code: number) => void;
}

/**
 * SIGTERM/SIGINT: stop accepting connections, let in-flight requests finish, then run Nest's
 * shutdown hooks (Redis connections, refresh timers…) and exit 0 — all within `timeoutMs`.
 *
 * Nest's own `enableShutdownHooks()` runs `onModuleDestroy` (closing Redis) *before* it closes the
 * HTTP server, so a request still in flight would meet closed connections; and it ends by re-raising
 * the signal, which a supervisor reports as a crash (exit 143). Hence this order, and exit code 0.
 */
export function enableGracefulShutdown(app: INestApplication, options: GracefulShutdownOptions): () => void {
  const logger = new Logger('Shutdown');
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let started = false;

  const shutdown = async (signal: NodeJS.Signals) => {
    if (started) return;
    started = true;
    unsubscribe();
    logger.log(`${signal} received: draining in-flight requests (bound ${options.timeoutMs} ms)`);
    const deadline = setTimeout(() => {
      logger.error(`Shutdown did not finish within ${options.timeoutMs} ms (SHUTDOWN_TIMEOUT_MS); exiting`);
      exit(1);
    }, options.timeoutMs);
    deadline.unref();
    try {
      await drain(app.getHttpServer() as Server);
      await app.close();
      await options.onClosed?.();
      logger.log('Shutdown complete');
      clearTimeout(deadline);
      exit(0);
    } catch (err) {
      logger.error(`Shutdown failed: ${(err as Error).message}`);
      exit(1);
    }
  };

  const listener = (signal: NodeJS.Signals) => void shutdown(signal);
  const unsubscribe = () => {
    for (const s of signals) process.removeListener(s, listener);
  };
  for (const s of signals) process.on(s, listener);
  return unsubscribe;
}

/**
 * Stops listening and resolves once every connection has ended. Idle keep-alive sockets are closed
 * at once (and again each tick, as in-flight responses finish); busy ones end after their response.
 */
function drain(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    sweep.unref();
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
