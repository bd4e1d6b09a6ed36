import closeWithGrace from 'close-with-grace';
import { ConfigError } from './config/load-config.ts';
import { describe, EXIT_CONFIG } from './config/startup-failure.ts';
import {
  type ChassisConfig,
  createService,
  type Service,
  type ServiceDefinition,
  type ServiceRole,
  type ServiceUses,
} from './create-service.ts';

/**
 * The composition root's last line: builds and starts the service, then stops it cleanly on
 * SIGTERM/SIGINT or when the supervisor that spawned it goes away. Start-up failures print one line.
 */
export async function runService<Config extends ChassisConfig, Uses extends ServiceUses>(
  definition: ServiceDefinition<Config, Uses>,
): Promise<void> {
  let service: Service<Config>;
  try {
    service = await createService(definition);
    const http = await service.start();
    // Where it listens, for the supervisor that spawned it (a port of 0 is picked by the system).
    process.send?.({ type: 'mercato.listening', http, grpc: service.grpcUrl() ?? null });
  } catch (error) {
    const reason = error instanceof ConfigError ? error.message : `failed to start: ${describe(error)}`;
    process.stderr.write(`${definition.name}: ${reason}\n`);
    process.exit(error instanceof ConfigError ? EXIT_CONFIG : 1);
  }

  const running = service;
  const grace = closeWithGrace(
    {
      delay: running.config.SHUTDOWN_TIMEOUT_MS + 2_000,
      // close-with-grace reports an error thrown while closing, or a second one, with the error
      // itself: logged as an error, stack and all, to be found.
      logger: {
        error: (problem: unknown) =>
          running.logger.error(
            problem instanceof Error ? { error: problem } : { detail: problem },
            'shutdown problem',
          ),
      },
    },
    async ({ signal, err }) => {
      if (err) running.logger.fatal({ error: err }, 'crashed');
      else running.logger.info({ signal: signal ?? 'supervisor gone' }, 'shutting down');
      await running.stop();
    },
  );
  // Spawned with an IPC channel by the supervisor: if it dies, we go too rather than linger as orphans.
  process.once('disconnect', () => void grace.close());
  // …and over it a blue-green release makes this instance active or a standby.
  process.on('message', (message: unknown) => {
    const role = roleMessage(message);
    if (!role) return;
    running.setRole(role).then(
      () => process.send?.({ type: 'mercato.role-set', role }),
      (error: unknown) => running.logger.error({ error, role }, 'could not change role'),
    );
  });
}

/** `{ type: 'mercato.role', role: 'active' | 'standby' }` from the supervisor; anything else is ignored. */
function roleMessage(message: unknown): ServiceRole | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, role } = message as { type?: unknown; role?: unknown };
  return type === 'mercato.role' && (role === 'active' || role === 'standby') ? role : undefined;
}
