import { ConfigError, describeError, EXIT_CONFIG, loadConfig } from '@mercato/chassis/config';
import { createLogger } from '@mercato/chassis/logging';
import { buildCommand } from './commands/build.ts';
import { deadLettersCommand } from './commands/dead-letters.ts';
import { projectionsCommand } from './commands/projections.ts';
import { releaseCommand } from './commands/release.ts';
import { supervisorConfig } from './config.ts';
import { parseReplicas } from './replicas.ts';
import { serviceCatalog } from './services.ts';
import { LogOutput } from './supervisor/log-output.ts';
import { startPlatform } from './supervisor/platform.ts';

const command = process.argv[2] ?? 'start';
const commands = ['start', 'dev', 'build', 'release', 'dead-letters', 'projections'];
if (!commands.includes(command)) {
  process.stderr.write(`mercato: unknown command "${command}" (available: ${commands.join(', ')})\n`);
  process.exit(64);
}

let config: ReturnType<typeof loadConfig<typeof supervisorConfig>>;
try {
  config = loadConfig(supervisorConfig);
} catch (error) {
  process.stderr.write(`mercato: ${error instanceof ConfigError ? error.message : describeError(error)}\n`);
  process.exit(EXIT_CONFIG);
}

if (command === 'dead-letters')
  process.exit(await deadLettersCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'projections')
  process.exit(await projectionsCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'release') process.exit(await releaseCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'build')
  process.exit(await buildCommand(serviceCatalog, process.argv.slice(3), config.MERCATO_DATA_DIR));

// `start` and `dev` take `--replicas catalog=3,order=2` (or MERCATO_REPLICAS).
let replicasText = config.MERCATO_REPLICAS;
const startArgs = process.argv.slice(3);
for (let index = 0; index < startArgs.length; index += 1) {
  const arg = startArgs[index] ?? '';
  if (arg === '--replicas') replicasText = startArgs[++index] ?? '';
  else if (arg.startsWith('--replicas=')) replicasText = arg.slice('--replicas='.length);
  else {
    process.stderr.write(
      `mercato ${command}: unknown argument ${arg} (expected --replicas service=count,…)\n`,
    );
    process.exit(64);
  }
}
let replicas: Map<string, number>;
try {
  replicas = parseReplicas(replicasText, serviceCatalog);
} catch (error) {
  process.stderr.write(`mercato: ${(error as Error).message}\n`);
  process.exit(EXIT_CONFIG);
}

const output = new LogOutput({ pretty: process.stdout.isTTY === true });
const logger = createLogger({
  service: 'supervisor',
  level: config.LOG_LEVEL,
  destination: { write: (line: string) => output.line('supervisor', line.trimEnd()) },
});

const starting = new AbortController();
let platform: Awaited<ReturnType<typeof startPlatform>> | undefined;
const shutdown = async (signal: string) => {
  if (starting.signal.aborted) {
    logger.warn('second signal: exiting now');
    process.exit(1);
  }
  logger.info({ signal }, 'stopping every service, then PostgreSQL');
  // While starting, aborting makes startPlatform stop what it has started before it gives up.
  starting.abort();
  if (!platform) return;
  await platform.stop();
  logger.info('stopped; data kept for the next start');
  process.exit(0);
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => void shutdown(signal));

try {
  platform = await startPlatform(serviceCatalog, config, logger, output, starting.signal, {
    watch: command === 'dev',
    replicas,
  });
} catch (error) {
  if (starting.signal.aborted) {
    logger.info('stopped while starting');
    process.exit(0);
  }
  process.stderr.write(`mercato: ${describeError(error)}\n`);
  process.exit(1);
}
