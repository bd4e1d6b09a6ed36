import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll } from 'vitest';
import { isAlive, type PlatformPorts, PlatformProcess } from './platform-process.ts';
import { platformDataDir } from './platform-template.ts';
import { removeOrKeep } from './post-mortem.ts';

/** One platform for a suite whose processes come and go (releases, autoscaling). */
export interface SuitePlatform {
  readonly platform: PlatformProcess;
  readonly dataDir: string;
  /** Notes every pid the run has now, so that none outlives the suite (call after it starts some). */
  remember: () => Promise<void>;
}

/**
 * Starts `npm start` in a data directory of its own before the suite's tests (ready within 90 s)
 * and stops it after them: Ctrl-C, then `kill -9` of any process the run ever had that is still
 * alive, then the data directory removed (kept, with the platform's output in `platform.log`, when
 * `MERCATO_E2E_KEEP` is set). Call in a `describe`.
 */
export function suitePlatform(
  name: string,
  ports: PlatformPorts,
  env: Record<string, string>,
): SuitePlatform {
  const stragglers = new Set<number>();
  let platform: PlatformProcess | undefined;
  let dataDir = '';
  const suite: SuitePlatform = {
    get platform() {
      if (!platform) throw new Error('the suite platform is not started yet');
      return platform;
    },
    get dataDir() {
      return dataDir;
    },
    remember: async () => {
      for (const pid of await suite.platform.pids()) stragglers.add(pid);
    },
  };
  beforeAll(async () => {
    dataDir = await platformDataDir(name, env);
    platform = new PlatformProcess(dataDir, ports, env);
    await platform.waitForLine(/all services ready in/, 90_000);
    await suite.remember();
  });
  afterAll(async () => {
    if (platform) {
      platform.child.kill('SIGINT');
      await Promise.race([platform.exited(), sleep(15_000)]);
    }
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    if (dataDir)
      await removeOrKeep(name, dataDir, platform?.lines ?? [], Boolean(process.env.MERCATO_E2E_KEEP));
  });
  return suite;
}
