import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildStale } from '../../build/service-build.ts';
import { contentHash, readVersion } from '../../build/versions.ts';
import type { SupervisorConfig } from '../../config.ts';
import { addressesUsed, type Placement, type ServiceSpec } from '../../services.ts';
import { assertPortFree } from '../port-check.ts';
import type { ServiceProcess } from '../service-process.ts';
import type { PlatformReleases } from './release-controller.ts';
import { smokeCheck } from './smoke-check.ts';

/**
 * A drained instance is stopped (SIGTERM) once every caller's registry watch has applied the change
 * that took it out (a round trip; on a loaded machine it was once more than the fixed second this
 * used to wait, and a caller still sent it calls), or after this long in any case.
 */
const PROPAGATION_MAX_MS = 5_000;
/** Then this long for calls a caller picked it for just before it applied the change. */
const PICKED_MS = 200;

/** An instance to start beside the placed ones: its name, ports and what it runs. */
export interface Launch {
  name: string;
  version: string;
  /** The launcher it is started with (relative to its package folder, or absolute). */
  launcher: string;
  /** Environment of its version (a bad version's injected faults). */
  env?: Record<string, string>;
  /** `standby`: started as a blue-green release's new colour, taking no deliveries (default active). */
  role?: 'active' | 'standby';
}

export interface PlatformReleaseSettings {
  specs: readonly ServiceSpec[];
  config: SupervisorConfig;
  placement: Placement;
  running: ServiceProcess[];
  repositoryRoot: string;
  watching: boolean;
  graceMs: number;
  /** What the placed instances of each service run (`current@<hash>`), from `dist/launch.cjs`. */
  versions: ReadonlyMap<string, string>;
  /** Starts an instance whose ports are already in `placement`. */
  start: (spec: ServiceSpec, launch: Launch) => ServiceProcess;
  /** The registry and the state file follow `running`. */
  changed: () => void;
  /** Resolves once every registry watcher has applied the latest change, or after `timeoutMs`. */
  propagated: (timeoutMs: number) => Promise<boolean>;
  /** The shop's address now (a smoke check's calls go through it). */
  gatewayUrl: () => string;
}

/**
 * What is reached at a fixed address rather than found by name: the gateway (its port is the shop's
 * address) and the outside world's simulators (payment-provider, carrier, the SMTP sink), whose
 * addresses their callers are handed at start. A new instance of one would not be found, so these
 * are not released.
 */
export function reachedByAddress(specs: readonly ServiceSpec[]): Set<string> {
  const names = new Set(['gateway']);
  for (const spec of specs) for (const name of addressesUsed(spec)) names.add(name);
  for (const spec of specs) if (spec.smtp) names.add(spec.name);
  return names;
}

/** How long a blue-green release's green set must stay up, ready, before the switch. */
const GREEN_SETTLE_MS = 2_000;

const ourUrl = (port: number) => `http://127.0.0.1:${port}`;

/** The version id of the working tree's build of a service: `current@<hash>`. */
export const currentVersion = async (repositoryRoot: string, spec: ServiceSpec): Promise<string> =>
  `current@${await contentHash(path.join(repositoryRoot, spec.directory, 'dist', 'main.cjs'))}`;

/** What a release may do to this run's processes: launch instances on new ports, retire old ones. */
export function platformReleases(settings: PlatformReleaseSettings): PlatformReleases {
  const { specs, config, placement, running, repositoryRoot } = settings;
  const fixed = reachedByAddress(specs);
  const launchers = new Map<string, Pick<Launch, 'launcher' | 'env'>>(
    [...settings.versions].map(([service, version]) => [
      `${service}\n${version}`,
      { launcher: 'dist/launch.cjs' },
    ]),
  );
  const taken = (ports: Record<string, number>) => Object.values(ports);
  let nextPort =
    Math.max(
      ...Object.entries(placement.ports)
        .filter(([name]) => name !== 'gateway')
        .map(([, port]) => port),
    ) + 1;
  let nextGrpcPort = Math.max(...taken(placement.grpcPorts), ...taken(placement.smtpPorts)) + 1;
  const launched = new Map<string, number>();

  /** The next port from `from` on that nothing listens on (a port that is in use is skipped). */
  const freePort = async (from: number, variable: string): Promise<number> => {
    for (let port = from; port < from + 200; port += 1) {
      if (
        await assertPortFree(port, variable).then(
          () => true,
          () => false,
        )
      )
        return port;
    }
    throw new Error(`no free port from ${from} to ${from + 199} for a new instance`);
  };

  const specOf = (service: string) => specs.find((spec) => spec.name === service);

  return {
    readyTimeoutMs: config.MERCATO_READY_TIMEOUT_MS,
    settleMs: GREEN_SETTLE_MS,
    smoke: (green, smokePath) => smokeCheck(green, settings.gatewayUrl(), smokePath),
    instances: (service) =>
      running.filter(
        (process) => process.service === service && !process.draining && process.role === 'active',
      ),
    standbys: (service) =>
      running.filter(
        (process) => process.service === service && !process.draining && process.role === 'standby',
      ),
    refusal: (service) => {
      if (settings.watching) return 'mercato dev restarts services on every change; release under npm start';
      if (config.MERCATO_RUNTIME !== 'built')
        return 'releases start built versions; this run uses MERCATO_RUNTIME=source';
      if (fixed.has(service))
        return `${service} is reached at a fixed address (an HTTP or SMTP URL its callers are given), not through the registry, so a new instance would not be found; only services found by name can be released`;
      return undefined;
    },
    prepare: async (service, label) => {
      const spec = specOf(service);
      if (!spec) throw new Error(`no service named ${service}`);
      if (label === 'current') {
        const directory = path.join(repositoryRoot, spec.directory);
        await buildStale([{ name: service, directory }], repositoryRoot);
        const version = await currentVersion(repositoryRoot, spec);
        launchers.set(`${service}\n${version}`, { launcher: 'dist/launch.cjs' });
        return version;
      }
      const version = await readVersion(config.MERCATO_DATA_DIR, service, label);
      const id = `${version.label}@${version.hash}`;
      launchers.set(`${service}\n${id}`, { launcher: version.launcher, env: version.env });
      return id;
    },
    launch: async (service, version, role = 'active') => {
      const spec = specOf(service);
      const prepared = launchers.get(`${service}\n${version}`);
      if (!spec || !prepared) throw new Error(`${service} ${version} was not prepared for launch`);
      const count = (launched.get(service) ?? 0) + 1;
      launched.set(service, count);
      const name = `${service}-${version.split('@')[0]}-${count}`;
      if (config.MERCATO_PORTS === 'dynamic') {
        // Its ports are its own to pick; it reports them, and the registry lists it from then on.
        placement.ports[name] = 0;
        if (spec.grpc) placement.grpcPorts[name] = 0;
        return settings.start(spec, { name, version, role, ...prepared });
      }
      const port = await freePort(nextPort, 'MERCATO_PORT_BASE');
      nextPort = port + 1;
      placement.ports[name] = port;
      placement.urls[name] = ourUrl(port);
      if (spec.grpc) {
        const grpcPort = await freePort(nextGrpcPort, 'MERCATO_GRPC_PORT_BASE');
        nextGrpcPort = grpcPort + 1;
        placement.grpcPorts[name] = grpcPort;
        placement.grpcUrls[name] = ourUrl(grpcPort);
      }
      return settings.start(spec, { name, version, role, ...prepared });
    },
    changed: settings.changed,
    retire: async (process) => {
      process.drain();
      await settings.propagated(PROPAGATION_MAX_MS);
      await sleep(PICKED_MS);
      await process.stop(settings.graceMs);
      const at = running.indexOf(process);
      if (at >= 0) running.splice(at, 1);
      settings.changed();
    },
  };
}
