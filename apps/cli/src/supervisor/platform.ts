import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import path from 'node:path';
import { loadCallPolicy } from '@mercato/chassis/call-policy';
import type { Logger } from '@mercato/chassis/logging';
import type { AutoscaleRange } from '../autoscale.ts';
import {
  type BuildTarget,
  buildStale,
  builtCommand,
  mallocEnvironment,
  sourceCommand,
  type Watcher,
  watchTarget,
} from '../build/service-build.ts';
import { buildWebIfStale } from '../build/web-build.ts';
import type { SupervisorConfig } from '../config.ts';
import type { MigrationDatabases } from '../migration/drift-checker.ts';
import { migrationControl } from '../migration/migration-control.ts';
import {
  prometheusConfig,
  prometheusTargetsPath,
  writePrometheusTargets,
} from '../observability/prometheus-config.ts';
import {
  addressesUsed,
  httpInsideMesh,
  placeServices,
  repositoryRoot,
  type ServiceSpec,
} from '../services.ts';
import { createAdminToken } from './admin-token.ts';
import { Autoscaler } from './autoscaler.ts';
import { checkpointEmbedded, type DatabaseServer, prepareDatabases } from './database-server.ts';
import type { LogOutput } from './log-output.ts';
import { keepLogs, startObservability, supervisorPort } from './observability-hub.ts';
import { assertPortFree } from './port-check.ts';
import { Registry } from './registry.ts';
import { currentVersion, type Launch, platformReleases } from './releases/platform-releases.ts';
import { ReleaseController } from './releases/release-controller.ts';
import { clearRunState, type RunState, writeRunState } from './run-state.ts';
import { runtimeAdvice } from './runtime-advice.ts';
import { ServiceProcess } from './service-process.ts';
import { formatStatusTable } from './status-table.ts';
import type { WorkloadCertificates } from './workload-certificates.ts';
import { SUPERVISOR_IDENTITY, workloadTlsFiles } from './workload-tls-files.ts';

export interface Platform {
  stop: () => Promise<void>;
}

export interface PlatformOptions {
  /** Rebuild a service when its code changes and restart it (`mercato dev`). */
  watch: boolean;
  /** Instances per service (parseReplicas); one each when not named. */
  replicas?: ReadonlyMap<string, number>;
  /** Services scaled by their CPU between a minimum and a maximum (parseAutoscale). */
  autoscale?: ReadonlyMap<string, AutoscaleRange>;
}

const SERVICE_STOP_GRACE_MS = 12_000;

/** Variables a child must not inherit: the admin's database access stays with the supervisor. */
const privateVariables = /^(PG[A-Z]+|DATABASE_URL.*)$/;

function childEnvironment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!privateVariables.test(key)) environment[key] = value;
  return { ...environment, ...extra };
}

const buildTargets = (specs: readonly ServiceSpec[]): BuildTarget[] =>
  specs.map((spec) => ({ name: spec.name, directory: path.join(repositoryRoot, spec.directory) }));

/** Builds the web app when stale, without holding the platform up; a failure is logged with its reason. */
function buildWebInBackground(logger: Logger): void {
  buildWebIfStale(repositoryRoot).then(
    (web) => {
      if (web.built)
        logger.info({ ms: web.ms }, `built the web app (storefront and console) in ${web.ms} ms`);
    },
    (error: Error) => logger.error(`${error.message}; the gateway serves the last build of the web app`),
  );
}

/** Builds what changed since the last build; says what it built and how long it took. */
async function buildServices(specs: readonly ServiceSpec[], logger: Logger): Promise<void> {
  const began = performance.now();
  const results = await buildStale(buildTargets(specs), repositoryRoot);
  const built = results.filter((result) => result.built).map((result) => result.name);
  const ms = Math.round(performance.now() - began);
  if (built.length > 0) logger.info({ built, ms }, `built ${built.join(', ')} in ${ms} ms`);
  else logger.info({ ms }, 'every service is built and up to date');
}

/**
 * Brings the platform up: builds what is stale while the database server starts, one database and
 * role per service, then each service as its own process in dependency order, each waited on until
 * ready.
 */
export async function startPlatform(
  specs: readonly ServiceSpec[],
  config: SupervisorConfig,
  logger: Logger,
  output: LogOutput,
  signal: AbortSignal,
  options: PlatformOptions = { watch: false },
): Promise<Platform> {
  const began = Date.now();
  const placement = placeServices(specs, config, options.replicas);
  const dynamic = config.MERCATO_PORTS === 'dynamic';
  if (dynamic) {
    // The SMTP server's address is handed to notification before either starts: one the system
    // picks now (the other ports are picked by the processes themselves, which report them).
    for (const name of Object.keys(placement.smtpPorts)) placement.smtpPorts[name] = await systemPickedPort();
  } else {
    for (const { name, spec } of placement.instances) {
      const variable = name === 'gateway' ? 'MERCATO_GATEWAY_PORT' : 'MERCATO_PORT_BASE';
      await assertPortFree(placement.ports[name] ?? 0, variable);
      if (spec.grpc) await assertPortFree(placement.grpcPorts[name] ?? 0, 'MERCATO_GRPC_PORT_BASE');
      if (spec.smtp) await assertPortFree(placement.smtpPorts[name] ?? 0, 'MERCATO_GRPC_PORT_BASE');
    }
  }
  if (supervisorPort(config) !== 0) await assertPortFree(supervisorPort(config), 'MERCATO_SUPERVISOR_PORT');
  const logs = keepLogs(config, output);
  const running: ServiceProcess[] = [];
  const watchers: Watcher[] = [];
  // The build runs while the database server starts. Watching (`mercato dev`), the watchers'
  // first builds are the build, so nothing is built twice.
  const building =
    config.MERCATO_RUNTIME !== 'built'
      ? Promise.resolve()
      : options.watch
        ? watchServices(specs, running, logger).then(async (started) => {
            watchers.push(...started);
            await Promise.all(started.map((watcher) => watcher.firstBuild));
            logger.info('every service built; watching for changes');
          })
        : buildServices(specs, logger);
  const [database, build] = await Promise.allSettled([prepareDatabases(specs, config, logger), building]);
  // The web app is not on the services' path: it builds beside their start (its staleness follows
  // the gateway's bundle, built above), and the gateway serves the last build until it is done.
  if (build.status === 'fulfilled') buildWebInBackground(logger);
  if (database.status === 'rejected' || build.status === 'rejected') {
    // Whatever did start (the embedded PostgreSQL, watchers) stops before the error is reported.
    if (database.status === 'fulfilled') await database.value.embedded?.stop();
    await Promise.all(watchers.map((watcher) => watcher.stop()));
    throw database.status === 'rejected' ? database.reason : (build as PromiseRejectedResult).reason;
  }
  const server = database.value;
  const adminToken = await createAdminToken(config.MERCATO_DATA_DIR);
  let certificates: WorkloadCertificates | undefined;
  let policyFile: string | undefined;
  if (config.MERCATO_MTLS) {
    try {
      ({ certificates, policyFile } = await startMutualTls(specs, config, logger));
    } catch (error) {
      await server.embedded?.stop();
      await Promise.all(watchers.map((watcher) => watcher.stop()));
      throw error;
    }
  }
  // The supervisor's own HTTPS: its certificate for the services' ports under --mtls, and the
  // edge's certificate pinned at the gateway's address when the edge serves TLS.
  const edgeCertificate = config.GATEWAY_TLS_CERT_FILE;
  if (certificates || edgeCertificate) {
    const { configureHttpsClient, loadWorkloadTls } = await import('@mercato/chassis/workload-tls');
    configureHttpsClient({
      ...(certificates
        ? {
            workload: loadWorkloadTls(workloadTlsFiles(config.MERCATO_DATA_DIR, SUPERVISOR_IDENTITY), logger),
          }
        : {}),
      ...(edgeCertificate
        ? {
            pinned: (host: string, port: string) =>
              running.some((child) => child.service === 'gateway' && child.url === `https://${host}:${port}`)
                ? readFileSync(edgeCertificate, 'utf8')
                : undefined,
          }
        : {}),
    });
  }
  const registry = new Registry(() => running);
  let autoscaler: Autoscaler | undefined;
  const releases = new ReleaseController();
  let observability: Awaited<ReturnType<typeof startObservability>>;
  try {
    observability = await startObservability({
      config,
      logs,
      logger,
      adminToken,
      // identity's JWKS at its instance now (a release or a dynamic port moves it).
      jwksUrl: () => {
        const identity = running.find(
          (child) => child.service === 'identity' && child.info().state === 'ready',
        );
        return identity ? `${identity.url}/.well-known/jwks.json` : undefined;
      },
      processes: () => running,
      registry,
      releases,
      migration: migrationControl({
        databases: () => migrationDatabases(server.databases),
        processes: () => running,
        adminToken,
        dataDir: config.MERCATO_DATA_DIR,
        graceMs: SERVICE_STOP_GRACE_MS,
        log: (message) => logger.info(message),
      }),
      graceMs: SERVICE_STOP_GRACE_MS,
    });
  } catch (error) {
    await server.embedded?.stop();
    await Promise.all(watchers.map((watcher) => watcher.stop()));
    throw error;
  }
  // One process per instance at a time, restarted only after it exited: `<instance>-<run>` names it
  // across its restarts, and two shops on one NATS never share a name.
  const run = randomBytes(3).toString('hex');
  const { urls, grpcUrls } = placement;
  /** The shop's address: the gateway's instance (its port is the system's pick when dynamic). */
  const gatewayUrl = () => running.find((child) => child.service === 'gateway')?.url ?? urls.gateway ?? '';

  const state = (): RunState => ({
    supervisor_pid: process.pid,
    started_at: new Date(began).toISOString(),
    supervisor: { url: observability.api.url },
    postgres: {
      mode: server.mode,
      pid: server.embedded?.pid ?? null,
      port: server.embedded?.admin.port ?? Number(process.env.PGPORT ?? 5432),
    },
    services: Object.fromEntries(
      running.map((child) => [
        child.name,
        {
          service: child.service,
          version: child.version,
          pid: child.pid ?? null,
          url: child.url,
          grpc: child.grpcUrl ?? null,
          database: server.databases.get(child.service)?.database ?? null,
        },
      ]),
    ),
  });
  // Services spawn side by side: writes are queued so each one renames a complete file, and none
  // is written once stopping has begun (the file is removed on a clean stop).
  let writing = Promise.resolve();
  let stopped = false;
  const saveState = () => {
    if (stopped) return;
    writing = writing
      .then(async () => {
        if (stopped) return;
        const now = state();
        await writeRunState(config.MERCATO_DATA_DIR, now);
        await writePrometheusTargets(config.MERCATO_DATA_DIR, now);
      })
      .catch((error: Error) => logger.warn({ error }, 'could not write the run state file'));
  };
  server.embedded?.onRestarted(saveState);

  const stop = async () => {
    stopped = true;
    certificates?.stop();
    const autoscaling = autoscaler?.stop();
    await Promise.all(watchers.map((watcher) => watcher.stop()));
    // Every service drains at once; PostgreSQL goes last, once nothing uses it.
    await Promise.all(running.map((child) => child.stop(SERVICE_STOP_GRACE_MS)));
    await autoscaling;
    await observability.stop();
    await server.embedded?.stop();
    await writing;
    await clearRunState(config.MERCATO_DATA_DIR);
  };

  // What each service's placed instances run: the working tree's build, named by its content hash.
  const versions = new Map(
    await Promise.all(
      specs.map(
        async (spec) =>
          [
            spec.name,
            config.MERCATO_RUNTIME === 'built' ? await currentVersion(repositoryRoot, spec) : 'source',
          ] as const,
      ),
    ),
  );
  const start = (spec: ServiceSpec, { name, version, launcher, env, role }: Launch): ServiceProcess => {
    // A release or the autoscaler starts nothing once stopping began: it would outlive the stop.
    if (stopped) throw new Error(`not starting ${name}: the platform is stopping`);
    // With mutual TLS each gRPC server listens over TLS: its address says so.
    const grpcUrl = certificates ? grpcUrls[name]?.replace(/^http:/, 'https:') : grpcUrls[name];
    // And so does the HTTP port of a service inside the mesh (not the edge, nor the outside world's).
    const meshHttp = certificates !== undefined && httpInsideMesh(spec);
    // The gateway's port is HTTPS when the edge has a certificate (GATEWAY_TLS_*).
    const secureHttp = meshHttp || (spec.name === 'gateway' && edgeCertificate !== undefined);
    const url = secureHttp ? urls[name]?.replace(/^http:/, 'https:') : urls[name];
    const child = new ServiceProcess({
      name,
      service: spec.name,
      version,
      ...(role ? { role } : {}),
      ...(grpcUrl ? { grpcUrl } : {}),
      learnsAddresses: dynamic,
      cwd: path.join(repositoryRoot, spec.directory),
      args: [
        ...config.MERCATO_NODE_FLAGS,
        ...(config.MERCATO_RUNTIME === 'built'
          ? builtCommand(
              { semiSpaceMb: config.MERCATO_SEMI_SPACE_MB, v8PoolSize: config.MERCATO_V8_POOL_SIZE },
              launcher,
            )
          : sourceCommand()),
      ],
      url: url ?? '',
      output,
      logger,
      onSpawn: saveState,
      onChange: () => registry.changed(),
      env: childEnvironment({
        ...mallocEnvironment(config.MERCATO_MALLOC_MMAP_THRESHOLD, process.env),
        ...observability.serviceEnvironment,
        // A version built outside the repository (a data directory elsewhere) finds the packages
        // its bundle leaves out (pg, pino's transports…) where its package folder would.
        ...(path.isAbsolute(launcher)
          ? {
              NODE_PATH: [
                path.join(repositoryRoot, spec.directory, 'node_modules'),
                path.join(repositoryRoot, 'node_modules'),
              ].join(path.delimiter),
            }
          : {}),
        ...serviceEnvironment(spec, name, {
          config,
          server,
          placement,
          adminToken,
          run,
          supervisorUrl: observability.api.url,
          running,
        }),
        ...(certificates
          ? {
              ...certificates.environment(spec.name),
              ...(meshHttp ? { HTTP_MUTUAL_TLS: 'true' } : {}),
              ...(policyFile ? { MERCATO_POLICY_FILE: policyFile } : {}),
            }
          : {}),
        ...env,
      }),
    });
    running.push(child);
    child.start();
    return child;
  };

  // Each service starts as soon as the services it depends on are ready (every instance of them),
  // so independent ones start side by side.
  const readiness = new Map<string, Promise<void>>();
  for (const spec of specs) {
    // Dynamic ports: what a service is handed an address of (a simulator) must be listening first.
    const dependencies = [...spec.dependsOn, ...(dynamic ? addressesUsed(spec) : [])].map((name) =>
      readiness.get(name),
    );
    const names = placement.instances.filter((instance) => instance.service === spec.name);
    readiness.set(
      spec.name,
      (async () => {
        await Promise.all(dependencies);
        signal.throwIfAborted();
        await Promise.all(
          names.map(({ name }) =>
            start(spec, {
              name,
              version: versions.get(spec.name) ?? 'current',
              launcher: 'dist/launch.cjs',
            }).waitReady(config.MERCATO_READY_TIMEOUT_MS, signal),
          ),
        );
      })(),
    );
  }
  const outcomes = await Promise.allSettled(readiness.values());
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  saveState();
  const host = platformReleases({
    specs,
    config,
    placement,
    running,
    repositoryRoot,
    watching: options.watch,
    graceMs: SERVICE_STOP_GRACE_MS,
    versions,
    start,
    gatewayUrl,
    changed: () => {
      registry.changed();
      saveState();
    },
    propagated: (timeoutMs) => registry.propagated(registry.revision, timeoutMs),
  });
  releases.attach(host);
  if (options.autoscale && options.autoscale.size > 0) {
    autoscaler = new Autoscaler({
      ranges: options.autoscale,
      policy: {
        upAbove: config.MERCATO_AUTOSCALE_UP_CPU_PERCENT / 100,
        upAfter: 3,
        downBelow: config.MERCATO_AUTOSCALE_DOWN_CPU_PERCENT / 100,
        downAfter: 8,
        cooldownMs: config.MERCATO_AUTOSCALE_COOLDOWN_MS,
      },
      intervalMs: config.MERCATO_AUTOSCALE_INTERVAL_MS,
      host,
      versionOf: (service) => host.instances(service).at(-1)?.version,
      exclusive: (service, change) => releases.exclusive(service, change),
      record: (service, event) => releases.record(service, event),
      logger,
    });
    autoscaler.start();
  }
  // Prometheus can scrape this run as it is: `prometheus --config.file=.mercato/run/prometheus.yml`,
  // its targets read from a file that follows every instance (saveState rewrites it).
  await writeFile(
    path.join(config.MERCATO_DATA_DIR, 'run', 'prometheus.yml'),
    prometheusConfig(state(), {
      rulesFile: path.join(repositoryRoot, 'deploy', 'observability', 'rules.yml'),
      targetsFile: prometheusTargetsPath(config.MERCATO_DATA_DIR),
      ...(certificates
        ? { certificate: workloadTlsFiles(config.MERCATO_DATA_DIR, SUPERVISOR_IDENTITY) }
        : {}),
    }),
  );
  output.text(
    `\n${formatStatusTable(specs.flatMap((spec) => running.filter((child) => child.service === spec.name)).map((child) => ({ service: child.name, pid: child.pid, url: child.url, grpc: child.grpcUrl, database: server.databases.get(child.service)?.database ?? null })))}\n`,
  );
  const seconds = ((Date.now() - began) / 1000).toFixed(1);
  await checkpointEmbedded(server, logger);
  output.text(
    `all services ready in ${seconds} s — shop ${gatewayUrl()}/, console ${gatewayUrl()}/ops, API ${gatewayUrl()}/api/catalog/products, docs ${gatewayUrl()}/docs\n`,
  );
  logger.info({ seconds: Number(seconds) }, 'all services ready');
  const advice = runtimeAdvice(process.version);
  if (advice) output.text(`${advice}\n`);
  return { stop };
}

/**
 * The CA and each service's certificate, issued before any service starts; the policy file, checked
 * first (a bad one stops the start naming what is wrong, rather than every service).
 */
async function startMutualTls(
  specs: readonly ServiceSpec[],
  config: SupervisorConfig,
  logger: Logger,
): Promise<{ certificates: WorkloadCertificates; policyFile: string }> {
  const policy = await loadCallPolicy(config.MERCATO_POLICY_FILE);
  const began = performance.now();
  // Loaded only when asked for: X.509 generation is a large module no plain start needs.
  const { WorkloadCertificates } = await import('./workload-certificates.ts');
  const certificates = await WorkloadCertificates.start(
    // The supervisor's own: it probes, scrapes and administers the services' HTTP ports.
    [...specs.map((spec) => spec.name), SUPERVISOR_IDENTITY],
    {
      dataDir: config.MERCATO_DATA_DIR,
      trustDomain: policy.trustDomain,
      ttlMs: config.MERCATO_CERT_TTL_S * 1000,
      logger,
    },
  );
  logger.info(
    { ms: Math.round(performance.now() - began), ttl_s: config.MERCATO_CERT_TTL_S },
    `mutual TLS: a certificate for each of ${specs.length} services from the platform's CA; calls authorized by ${path.relative(repositoryRoot, config.MERCATO_POLICY_FILE)}`,
  );
  return { certificates, policyFile: config.MERCATO_POLICY_FILE };
}

interface EnvironmentSources {
  config: SupervisorConfig;
  server: DatabaseServer;
  placement: ReturnType<typeof placeServices>;
  adminToken: string;
  run: string;
  supervisorUrl: string;
  running: readonly ServiceProcess[];
}

/**
 * What one service is started with: where it listens, its database, the bus, the registry it finds
 * the other services through, admin access, and the addresses of the outside world it talks to.
 */
function serviceEnvironment(
  spec: ServiceSpec,
  name: string,
  sources: EnvironmentSources,
): Record<string, string> {
  const { config, server, placement, adminToken, run, supervisorUrl, running } = sources;
  const database = server.databases.get(spec.name);
  const messageStoreUrl = server.messageStoreUrls.get(spec.name);
  // Where each process listens now (reported ports included), over what was placed.
  const http = { ...placement.urls };
  for (const child of running) if (child.url) http[child.name] = child.url;
  return {
    HOST: '127.0.0.1',
    PORT: String(placement.ports[name]),
    ...(spec.grpc ? { GRPC_PORT: String(placement.grpcPorts[name]) } : {}),
    ...(spec.smtp ? { SMTP_PORT: String(placement.smtpPorts[name]) } : {}),
    LOG_LEVEL: config.LOG_LEVEL,
    OTEL_SERVICE_NAME: spec.name,
    MERCATO_SERVICE: spec.name,
    MERCATO_INSTANCE_ID: `${name}-${run}`,
    // Every service it calls (identity's JWKS included) is found here by name, with every instance.
    MERCATO_DISCOVERY: 'registry',
    MERCATO_REGISTRY_URL: supervisorUrl,
    MERCATO_ADMIN_TOKEN: adminToken,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(spec.captures ? { LEGACY_DATABASE_URL: server.databases.get(spec.captures)?.url ?? '' } : {}),
    ...(spec.messaging ? { MERCATO_BUS: config.MERCATO_BUS } : {}),
    ...(messageStoreUrl ? { MESSAGES_DATABASE_URL: messageStoreUrl } : {}),
    ...(spec.messaging && config.NATS_URL ? { NATS_URL: config.NATS_URL } : {}),
    ...spec.env?.({
      http,
      smtp: config.SMTP_URL ?? `smtp://127.0.0.1:${placement.smtpPorts['smtp-sink'] ?? 0}`,
      supervisor: supervisorUrl,
    }),
  };
}

/** What the migration's drift checker reads, when the monolith runs beside the services. */
function migrationDatabases(
  databases: DatabaseServer['databases'],
): (MigrationDatabases & { capture: string | undefined }) | undefined {
  const url = (service: string) => databases.get(service)?.url;
  const legacy = url('legacy');
  const customer = url('customer');
  const identity = url('identity');
  const orderView = url('order-view');
  const catalog = url('catalog');
  const pricing = url('pricing');
  const inventory = url('inventory');
  return legacy && customer && identity && orderView && catalog && pricing && inventory
    ? { legacy, customer, identity, orderView, catalog, pricing, inventory, capture: url('legacy-cdc') }
    : undefined;
}

/** A port the system picks (listened on once, then let go). */
function systemPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** `mercato dev`: each service rebuilt when its code changes, then restarted. */
async function watchServices(
  specs: readonly ServiceSpec[],
  running: readonly ServiceProcess[],
  logger: Logger,
): Promise<Watcher[]> {
  return Promise.all(
    buildTargets(specs).map((target) =>
      watchTarget(target, repositoryRoot, {
        onBuilt: () => {
          logger.info({ child: target.name }, `${target.name} changed; restarting it`);
          // A process an operator stopped (or a retired monolith's) stays stopped: it runs the new
          // build when it is started again.
          for (const child of running.filter(
            (candidate) =>
              candidate.service === target.name && !['stopped', 'stopping'].includes(candidate.info().state),
          ))
            void child.restart(SERVICE_STOP_GRACE_MS);
        },
        onFailed: (error) =>
          logger.error({ child: target.name }, `${error.message}; still running the last build`),
      }),
    ),
  );
}
