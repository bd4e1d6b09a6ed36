import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Logger } from '@mercato/chassis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RouteTable } from './route-table.ts';
import { readRouteTable } from './route-table-file.ts';

export interface RouteTableSource {
  /** The table in force; swapped whole on a successful reload. */
  current: () => RouteTable;
  /** Re-reads the file; a bad file is refused (logged, counted) and the old table stays. */
  reload: () => boolean;
  close: () => void;
}

export interface RouteTableWatchOptions {
  file: string;
  variables: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  registry: Registry;
}

/**
 * Loads the routing table (a bad file fails start-up) and reloads it without a restart when the
 * file changes or the process gets SIGHUP. The directory is watched, not the file, because editors
 * and `kubectl`-mounted ConfigMaps replace the file rather than write into it.
 */
export function watchRouteTable(options: RouteTableWatchOptions): RouteTableSource {
  const { file, variables, logger, registry } = options;
  const reloads = new Counter({
    name: 'gateway_route_table_reloads_total',
    help: 'Routing table reloads by result (applied or refused)',
    labelNames: ['result'],
    registers: [registry],
  });
  const versionGauge = new Gauge({
    name: 'gateway_route_table_version',
    help: 'Version of the routing table in force (1 at start, +1 per applied reload)',
    registers: [registry],
  });

  let table = readRouteTable(file, variables, 1);
  versionGauge.set(table.version);
  logger.info(
    { routing_table: file, clusters: table.clusters.size },
    `routing table v${table.version} loaded from ${file}`,
  );

  const reload = (): boolean => {
    try {
      table = readRouteTable(file, variables, table.version + 1);
    } catch (error) {
      reloads.inc({ result: 'refused' });
      logger.error({ err: error }, `routing table reload refused; v${table.version} stays in force`);
      return false;
    }
    reloads.inc({ result: 'applied' });
    versionGauge.set(table.version);
    logger.info({ routing_table: file }, `routing table v${table.version} applied`);
    return true;
  };

  let pending: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(dirname(file), (_event, changed) => {
    if (changed !== null && changed !== basename(file)) return;
    // One save can raise several events; read once they settle.
    clearTimeout(pending);
    pending = setTimeout(reload, 100);
  });
  watcher.on('error', (error) => logger.warn({ err: error }, 'watching the routing table failed'));
  const onHangup = () => reload();
  process.on('SIGHUP', onHangup);

  return {
    current: () => table,
    reload,
    close: () => {
      clearTimeout(pending);
      watcher.close();
      process.off('SIGHUP', onHangup);
    },
  };
}
