import { AppError } from '@mercato/chassis/errors';
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

/** A gateway's routing table as `GET /admin/routing-table` answers it (the parts read here). */
export interface RoutingDocument {
  clusters?: Record<string, { backends?: Array<{ service?: string }> }>;
  routes?: Array<{ name?: string; proxy?: string; clusters?: Record<string, string> }>;
}

/**
 * What of a routing table could still reach the monolith: a cluster named `legacy` (the edge's own
 * handlers ask that one) or one whose backend is the service `legacy`, a route mapping `legacy` to
 * another cluster, a route proxying to one of those. None once nothing can.
 */
export function monolithRoutes(table: RoutingDocument): string[] {
  const clusters = table.clusters ?? {};
  const monolithClusters = new Set(
    Object.entries(clusters)
      .filter(
        ([name, cluster]) =>
          name === 'legacy' || cluster.backends?.some((backend) => backend.service === 'legacy'),
      )
      .map(([name]) => name),
  );
  const found = [...monolithClusters].map((name) => `cluster ${name}`);
  for (const route of table.routes ?? []) {
    if (route.proxy !== undefined && monolithClusters.has(route.proxy))
      found.push(`route ${route.name} proxies to ${route.proxy}`);
    if (route.clusters?.legacy !== undefined)
      found.push(`route ${route.name} sends legacy to ${route.clusters.legacy}`);
  }
  return found;
}

/** One call to a process's HTTP API as the run's operator; a failure to answer as a 503. */
async function fetchJson(
  url: string,
  method: 'GET' | 'POST' | 'PUT',
  token: string,
  body?: unknown,
): Promise<{ status: number; body: { code?: string; detail?: string } & Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  }).catch((error: Error) => error);
  if (response instanceof Error)
    return { status: 503, body: { detail: `${new URL(url).host} did not answer: ${response.message}` } };
  return { status: response.status, body: (await response.json().catch(() => ({}))) as { detail?: string } };
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
    if (!databases?.capture)
      throw new AppError({
        code: 'MIGRATION.NO_MONOLITH',
        kind: 'not_found',
        message: 'The platform runs without the monolith and its capture: start it with --legacy',
      });
    return retireMonolith({
      // Every gateway's table in force (one that refused a reload runs its last one).
      async routedToMonolith() {
        const gateways = sources
          .processes()
          .filter((process) => process.service === 'gateway' && !process.draining);
        if (gateways.length === 0) return ['no gateway runs to say what it routes'];
        const found: string[] = [];
        for (const gateway of gateways) {
          const answer = await fetchJson(`${gateway.url}/admin/routing-table`, 'GET', sources.adminToken);
          const document = (answer.body as { document?: RoutingDocument }).document;
          if (answer.status !== 200 || !document)
            found.push(`${gateway.name} did not say what it routes (${answer.body.detail ?? answer.status})`);
          else found.push(...monolithRoutes(document).map((what) => `${gateway.name}: ${what}`));
        }
        return found;
      },
      databases: { ...databases, capture: databases.capture },
      dataDir: sources.dataDir,
      log: sources.log,
      async call(service, method, path, body) {
        const target = running(service);
        if (!target) return { status: 503, body: { detail: `${service} is not running` } };
        return fetchJson(`${target.url}${path}`, method, sources.adminToken, body);
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
      retiring ??= retire()
        .catch((error: unknown) => {
          // A database or a process that failed mid-way: said as such, and safe to run again.
          if (error instanceof AppError) throw error;
          throw new AppError({
            code: 'MIGRATION.RETIREMENT_INTERRUPTED',
            kind: 'unavailable',
            message: `the retirement stopped: ${(error as Error).message}; run mercato migrate retire again`,
            cause: error,
          });
        })
        .finally(() => {
          retiring = undefined;
        });
      return retiring;
    },
  };
}
