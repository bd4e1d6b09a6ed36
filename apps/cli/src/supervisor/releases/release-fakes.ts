import type { ServiceProcess } from '../service-process.ts';

interface FakeInstance {
  name: string;
  version: string;
  role: 'active' | 'standby';
  weight: number | undefined;
  canary: boolean;
}

/** A stand-in for the platform: instances are names with a version and a role; each step is recorded. */
export function fakePlatform(versions: string[], options: { failReady?: string; failSmoke?: boolean } = {}) {
  const log: string[] = [];
  let running: FakeInstance[] = versions.map((version, index) => ({
    name: `catalog-${index}`,
    version,
    role: 'active',
    weight: undefined,
    canary: false,
  }));
  let launched = 0;
  const asProcess = (instance: FakeInstance) =>
    Object.assign(instance, {
      waitReady: async () => {
        log.push(`ready? ${instance.name}`);
        if (instance.version === options.failReady) throw new Error('exited with code 1');
      },
      info: () => ({ state: 'ready' }),
      setRole: async (role: 'active' | 'standby') => {
        instance.role = role;
        log.push(`${role} ${instance.name}`);
      },
    }) as unknown as ServiceProcess;
  const platform = {
    readyTimeoutMs: 1_000,
    settleMs: 0,
    changed: () => {
      log.push(
        `registry ${running.map((instance) => `${instance.name}=${instance.weight ?? 1}${instance.canary ? '*' : ''}`).join(' ')}`,
      );
    },
    instances: () => running.filter((instance) => instance.role === 'active').map(asProcess),
    standbys: () => running.filter((instance) => instance.role === 'standby').map(asProcess),
    refusal: (service: string) => (service === 'gateway' ? 'the edge' : undefined),
    prepare: async (_service: string, label: string) => {
      if (label === 'v9') throw new Error('catalog has no version "v9"');
      return `${label}@abc`;
    },
    launch: async (_service: string, version: string, role: 'active' | 'standby' = 'active') => {
      launched += 1;
      const instance: FakeInstance = {
        name: `catalog-new-${launched}`,
        version,
        role,
        weight: undefined,
        canary: false,
      };
      running.push(instance);
      log.push(`launch ${instance.name}${role === 'standby' ? ' as standby' : ''}`);
      return asProcess(instance);
    },
    retire: async (process: ServiceProcess) => {
      log.push(`retire ${process.name}`);
      running = running.filter((instance) => instance.name !== process.name);
    },
    smoke: async (green: readonly ServiceProcess[]) => {
      log.push(`smoke ${green.map((instance) => instance.name).join(' ')}`);
      if (options.failSmoke) throw new Error('GET /api/catalog/products answered 500');
      return 'ok';
    },
  };
  return { platform, log, running: () => running };
}
