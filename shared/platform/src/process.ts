import closeWithGrace from 'close-with-grace';
import { createLogger, type Logger } from './logger';

/**
 * The process side of an HTTP process that is not a choreography service (the web front, the card
 * gateway): a bad configuration prints what is wrong and exits 1, as does a failed start;
 * SIGTERM/SIGINT (and a crash) trigger a graceful stop bounded by `SHUTDOWN_TIMEOUT_MS`.
 */
export async function runProcess<C extends { LOG_LEVEL: string; SHUTDOWN_TIMEOUT_MS: number }>(
  name: string,
  loadConfig: () => C,
  start: (config: C, logger: Logger) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  const running = await start(config, logger).catch((error: unknown) => {
    logger.fatal({ err: (error as Error).message }, 'start-up failed');
    process.exit(1);
  });
  closeWithGrace({ delay: config.SHUTDOWN_TIMEOUT_MS, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'crashed; shutting down');
    else logger.info({ signal }, 'shutting down');
    await running.stop();
  });
}
