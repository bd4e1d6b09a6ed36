import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Endpoints } from '../grpc/grpc-client.ts';
import type { Logger } from '../logging/create-logger.ts';

const snapshotSchema = z.object({
  revision: z.number().int().nonnegative(),
  services: z.record(
    z.string(),
    z.array(
      z.object({
        instance: z.string(),
        grpc: z.string().nullable(),
        ready: z.boolean(),
        weight: z.number().nonnegative().default(1),
        canary: z.boolean().default(false),
      }),
    ),
  ),
});

export interface RegistryWatchSettings {
  /** The supervisor's API (`MERCATO_REGISTRY_URL`). */
  url: string;
  /** The run's admin token: the registry is an admin route. */
  token: string;
  logger: Logger;
}

/**
 * Service discovery in embedded mode: follows the supervisor's registry (`GET /admin/registry`,
 * a long poll that answers when an instance starts, becomes ready or exits) and hands each client
 * the gRPC addresses of its dependency's ready instances. A name the registry does not know (or
 * before its first answer) resolves to the address the service was configured with, which is how
 * names resolve without a registry (Kubernetes: a DNS name). A known name with no ready instance
 * resolves to none: the call fails UNAVAILABLE naming it, or waits within its deadline.
 */
export class RegistryWatch {
  readonly #settings: RegistryWatchSettings;
  #revision = 0;
  /** Per service, the ready instances' gRPC addresses; a new array only when they (or a weight) change. */
  readonly #byService = new Map<string, readonly string[]>();
  /** Each ready instance's weight, by gRPC address (1 unless a canary release set it). */
  readonly #weights = new Map<string, number>();
  /** The gRPC addresses of canary instances (a canary release runs). */
  readonly #canaries = new Set<string>();
  readonly #stopped = new AbortController();
  #loop: Promise<void> | undefined;
  #firstAnswer: Promise<void>;
  #answered: () => void = () => undefined;

  constructor(settings: RegistryWatchSettings) {
    this.#settings = settings;
    this.#firstAnswer = new Promise((resolve) => {
      this.#answered = resolve;
    });
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Resolves after the first answer, or after `timeoutMs` (the fallback addresses serve meanwhile). */
  async ready(timeoutMs: number): Promise<void> {
    await Promise.race([this.#firstAnswer, sleep(timeoutMs, undefined, { ref: false })]);
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
  }

  endpoints(service: string, fallback: string): Endpoints {
    const fallbackList = [fallback];
    return {
      current: () => this.#byService.get(service) ?? fallbackList,
      weightOf: (address) => this.#weights.get(address) ?? 1,
      isCanary: (address) => this.#canaries.has(address),
    };
  }

  async #run(): Promise<void> {
    const { url, token, logger } = this.#settings;
    let failures = 0;
    while (!this.#stopped.signal.aborted) {
      try {
        const response = await fetch(`${url}/admin/registry?after=${this.#revision}`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(60_000)]),
        });
        if (!response.ok) throw new Error(`the registry answered ${response.status}`);
        this.#apply(snapshotSchema.parse(await response.json()));
        if (failures > 0) logger.info('following the service registry again');
        failures = 0;
      } catch (error) {
        if (this.#stopped.signal.aborted) return;
        failures += 1;
        // Once per outage: the supervisor restarting is not news every second.
        if (failures === 1)
          logger.warn({ error }, 'cannot reach the service registry; keeping the last instances known');
        await sleep(Math.min(5_000, 100 * 2 ** failures), undefined, { signal: this.#stopped.signal }).catch(
          () => undefined,
        );
      }
    }
  }

  #apply(snapshot: z.output<typeof snapshotSchema>): void {
    this.#revision = snapshot.revision;
    for (const [service, instances] of Object.entries(snapshot.services)) {
      const ready = instances.filter((instance) => instance.ready && instance.grpc !== null);
      const addresses = ready.map((instance) => instance.grpc as string).sort();
      let weightChanged = false;
      for (const instance of ready) {
        const address = instance.grpc as string;
        if (this.#weights.get(address) !== instance.weight) weightChanged = true;
        this.#weights.set(address, instance.weight);
        if (instance.canary) this.#canaries.add(address);
        else this.#canaries.delete(address);
      }
      const known = this.#byService.get(service);
      if (!known || weightChanged || known.join(' ') !== addresses.join(' '))
        this.#byService.set(service, addresses);
    }
    this.#answered();
  }
}
