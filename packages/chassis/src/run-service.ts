import closeWithGrace from 'close-with-grace';
import { ConfigError } from './config/load-config.ts';
import { type ChassisConfig, createService, type Service, type ServiceDefinition } from './create-service.ts';

/** Exit code for bad configuration (sysexits EX_CONFIG): the supervisor does not restart it. */
export const EXIT_CONFIG = 78;

/**
 * The composition root's last line: builds and starts the service, then stops it cleanly on
 * SIGTERM/SIGINT or when the supervisor that spawned it goes away. Start-up failures print one line.
 */
export async function runService<Config extends ChassisConfig>(
  definition: ServiceDefinition<Config>,
): Promise<void> {
  let service: Service<Config>;
  try {
    service = await createService(definition);
    await service.start();
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : `failed to start: ${describe(error)}`;
    process.stderr.write(`${definition.name}: ${reason}\n`);
    process.exit(error instanceof ConfigError ? EXIT_CONFIG : 1);
  }

  const running = service;
  const grace = closeWithGrace(
    {
      delay: running.config.SHUTDOWN_TIMEOUT_MS + 2_000,
      logger: { error: (message: unknown) => running.logger.error({ detail: message }, 'shutdown problem') },
    },
    async ({ signal, err }) => {
      if (err) running.logger.fatal({ error: err }, 'crashed');
      else running.logger.info({ signal: signal ?? 'supervisor gone' }, 'shutting down');
      await running.stop();
    },
  );
  // Spawned with an IPC channel by the supervisor: if it dies, we go too rather than linger as orphans.
  process.once('disconnect', () => void grace.close());
}

/** One line for a start-up failure, including socket errors whose own message is empty. */
export function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message && error.errors.length > 0)
    return describe(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const cause = error.cause === undefined ? '' : ` (${describe(error.cause)})`;
  return `${error.message || code || error.name}${cause}`;
}
