import type { ServiceProcess } from '../supervisor/service-process.ts';
import type { MigrationDatabases } from './drift-checker.ts';
import { type RetirementRecord, readRetirement, retireMonolith } from './retirement.ts';

/** What the supervisor's migration routes need: the checker's databases and the retirement. */
export interface MigrationControl {
  /** The databases the checker compares, while the monolith runs beside the services. */
  databases: () => MigrationDatabases | undefined;
  /** The monolith's retirement, if this data directory had one. */
  retired: () => Promise<RetirementRecord | undefined>;
  retire: () => Promise<RetirementRecord>;
}

interface ControlSources {
  databases: () => (MigrationDatabases & { capture: string | undefined }) | undefined;
  processes: () => readonly ServiceProcess[];
  adminToken: string;
  dataDir: string;
  graceMs: number;
  log: (message: string) => void;
}

/** The migration as the supervisor runs it, over the processes it runs and their databases. */
export function migrationControl(sources: ControlSources): MigrationControl {
  const running = (service: string) =>
    sources.processes().find((process) => process.service === service && !process.draining);
  // One retirement at a time: a second caller meanwhile is answered by the first one's outcome.
  let retiring: Promise<RetirementRecord> | undefined;
  const retire = async (): Promise<RetirementRecord> => {
    const earlier = await readRetirement(sources.dataDir);
    if (earlier) return earlier;
    const databases = sources.databases();
    if (!databases?.capture) throw new Error('the platform runs without the monolith and its capture');
    return retireMonolith({
      databases: { ...databases, capture: databases.capture },
      dataDir: sources.dataDir,
      log: sources.log,
      async call(service, method, path, body) {
        const target = running(service);
        if (!target) return { status: 503, body: { detail: `${service} is not running` } };
        const response = await fetch(`${target.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${sources.adminToken}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(30_000),
        }).catch((error: Error) => error);
        if (response instanceof Error)
          return { status: 503, body: { detail: `${service} did not answer: ${response.message}` } };
        return {
          status: response.status,
          body: (await response.json().catch(() => ({}))) as { detail?: string },
        };
      },
      async stop(name) {
        await Promise.all(
          sources
            .processes()
            .filter((process) => process.service === name)
            .map((process) => process.hold(sources.graceMs)),
        );
      },
    });
  };
  return {
    databases: sources.databases,
    retired: () => readRetirement(sources.dataDir),
    retire() {
      retiring ??= retire().finally(() => {
        retiring = undefined;
      });
      return retiring;
    },
  };
}
