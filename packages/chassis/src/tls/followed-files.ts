import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/load-config.ts';
import type { Logger } from '../logging/create-logger.ts';

/** Something read from files (a certificate and its key), followed as the files are replaced. */
export interface Followed<Material> {
  current: () => Material;
  /** Called after a new set is in use. */
  onRenewed: (listener: (material: Material) => void) => void;
  close: () => void;
}

export interface FollowSettings<Material> {
  files: readonly string[];
  /** Reads and checks one set; throws an Error naming the file and what is wrong. */
  read: () => Material;
  same: (a: Material, b: Material) => boolean;
  /** What the renewal's log line says of the new set. */
  describe: (material: Material) => Record<string, unknown>;
  logger: Logger;
}

/**
 * Reads a set now (a bad one is a ConfigError) and again whenever its folders change. A set that does
 * not hang together (mid-renewal: one file renamed, not yet the other) is not taken; the one in use
 * stays until a whole set is there. One watch per folder (inotify: no polling while nothing changes),
 * and any change in it: a Kubernetes Secret volume swaps a `..data` link, not the files' own names.
 */
export function followFiles<Material>(settings: FollowSettings<Material>): Followed<Material> {
  const { read, same, describe, logger } = settings;
  let material: Material;
  try {
    material = read();
  } catch (error) {
    throw new ConfigError([(error as Error).message]);
  }
  const listeners: ((material: Material) => void)[] = [];
  let pending: NodeJS.Timeout | undefined;
  const reload = () => {
    pending = undefined;
    let next: Material;
    try {
      next = read();
    } catch (error) {
      logger.debug({ err: error }, 'TLS files changed but do not make a whole set yet');
      return;
    }
    if (same(next, material)) return;
    material = next;
    logger.info(describe(next), 'certificate renewed; new connections use it');
    for (const listener of listeners) listener(next);
  };
  const watchers: FSWatcher[] = [...new Set(settings.files.map(dirname))].map((folder) =>
    watch(folder, { persistent: false }, () => {
      clearTimeout(pending);
      pending = setTimeout(reload, 50);
    }),
  );
  return {
    current: () => material,
    onRenewed: (listener) => {
      listeners.push(listener);
    },
    close: () => {
      clearTimeout(pending);
      for (const watcher of watchers) watcher.close();
    },
  };
}

/** A file a setting names, read as text; an Error naming the setting, the file and why otherwise. */
export function readNamedFile(file: string, setting: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${setting} ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
}
