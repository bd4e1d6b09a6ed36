import { ConfigError, describeError, EXIT_CONFIG, loadConfig } from '@mercato/chassis/config';
import { createLogger } from '@mercato/chassis/logging';
import { type AutoscaleRange, parseAutoscale } from './autoscale.ts';
import { buildCommand } from './commands/build.ts';
import { deadLettersCommand } from './commands/dead-letters.ts';
import { experimentsCommand } from './commands/experiments.ts';
import { migrateCommand } from './commands/migrate.ts';
import { projectionsCommand } from './commands/projections.ts';
import { releaseCommand, rollbackCommand } from './commands/release.ts';
import { supervisorConfig } from './config.ts';
import { readRetirement } from './migration/retirement.ts';
import { parseReplicas } from './replicas.ts';
import { everyService, legacyServices, serviceCatalog } from './services.ts';
import { LogOutput } from './supervisor/log-output.ts';
import { startPlatform } from './supervisor/platform.ts';
import { reachedByAddress } from './supervisor/releases/platform-releases.ts';

const command = process.argv[2] ?? 'start';
const commands = [
  'start',
  'dev',
  'build',
  'release',
  'rollback',
  'dead-letters',
  'projections',
  'experiments',
  'migrate',
];
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
if (command === 'experiments')
  process.exit(await experimentsCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'migrate') process.exit(await migrateCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'projections')
  process.exit(await projectionsCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'release') process.exit(await releaseCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'rollback')
  process.exit(await rollbackCommand(process.argv.slice(3), config.MERCATO_DATA_DIR));
if (command === 'build')
  process.exit(await buildCommand(everyService, process.argv.slice(3), config.MERCATO_DATA_DIR));

// `start` and `dev` take `--replicas catalog=3,order=2` (or MERCATO_REPLICAS),
// `--autoscale catalog=1..4` (or MERCATO_AUTOSCALE) and `--ports dynamic` (or MERCATO_PORTS).
let replicasText = config.MERCATO_REPLICAS;
let autoscaleText = config.MERCATO_AUTOSCALE;
const startArgs = process.argv.slice(3);
for (let index = 0; index < startArgs.length; index += 1) {
  const arg = startArgs[index] ?? '';
  if (arg === '--replicas') replicasText = startArgs[++index] ?? '';
  else if (arg.startsWith('--replicas=')) replicasText = arg.slice('--replicas='.length);
  else if (arg === '--legacy') config.MERCATO_LEGACY = true;
  else if (arg === '--mtls') config.MERCATO_MTLS = true;
  else if (arg === '--autoscale') autoscaleText = startArgs[++index] ?? '';
  else if (arg.startsWith('--autoscale=')) autoscaleText = arg.slice('--autoscale='.length);
  else if (arg === '--ports' || arg.startsWith('--ports=')) {
    const ports = arg === '--ports' ? startArgs[++index] : arg.slice('--ports='.length);
    if (ports !== 'fixed' && ports !== 'dynamic') {
      process.stderr.write(
        `mercato ${command}: --ports takes fixed or dynamic (got ${ports ?? 'nothing'})\n`,
      );
      process.exit(64);
    }
    config.MERCATO_PORTS = ports;
  } else {
    process.stderr.write(
      `mercato ${command}: unknown argument ${arg} (expected --replicas service=count,…, --autoscale service=min..max,…, --ports fixed|dynamic, --legacy or --mtls)\n`,
    );
    process.exit(64);
  }
}
// A monolith retired in this data directory (mercato migrate retire) is not started again: its
// database stays, as an archive, and its slot is gone.
const retirement = config.MERCATO_LEGACY
  ? await readRetirement(config.MERCATO_DATA_DIR).catch((error: Error) => {
      process.stderr.write(`mercato: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    })
  : undefined;
if (retirement)
  process.stderr.write(
    `mercato: the legacy monolith was retired at ${retirement.retiredAt}; starting without it and its capture (its database is kept)\n`,
  );
const catalog =
  config.MERCATO_LEGACY && !retirement ? [...serviceCatalog, ...legacyServices] : serviceCatalog;
let replicas: Map<string, number>;
let autoscale: Map<string, AutoscaleRange>;
try {
  replicas = parseReplicas(replicasText, catalog);
  autoscale = parseAutoscale(autoscaleText, catalog, reachedByAddress(catalog));
  if (autoscale.size > 0 && (command === 'dev' || config.MERCATO_RUNTIME !== 'built'))
    throw new Error('autoscale: needs built services (npm start, MERCATO_RUNTIME=built), not mercato dev');
  if (config.MERCATO_AUTOSCALE_DOWN_CPU_PERCENT >= config.MERCATO_AUTOSCALE_UP_CPU_PERCENT)
    throw new Error(
      `autoscale: MERCATO_AUTOSCALE_DOWN_CPU_PERCENT (${config.MERCATO_AUTOSCALE_DOWN_CPU_PERCENT}) must be below MERCATO_AUTOSCALE_UP_CPU_PERCENT (${config.MERCATO_AUTOSCALE_UP_CPU_PERCENT})`,
    );
  for (const [service, range] of autoscale) {
    const count = replicas.get(service) ?? 1;
    if (count > range.max)
      throw new Error(`autoscale: ${service} has ${count} replicas, above its maximum of ${range.max}`);
    replicas.set(service, Math.max(count, range.min));
  }
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
  platform = await startPlatform(catalog, config, logger, output, starting.signal, {
    watch: command === 'dev',
    replicas,
    autoscale,
  });
} catch (error) {
  if (starting.signal.aborted) {
    logger.info('stopped while starting');
    process.exit(0);
  }
  process.stderr.write(`mercato: ${describeError(error)}\n`);
  process.exit(1);
}
