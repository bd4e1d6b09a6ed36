import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import * as z from 'zod';
import type { Endpoints } from '../grpc/grpc-client.ts';
import type { Logger } from '../logging/create-logger.ts';
import type { Discovery, Protocol } from './discovery.ts';
import { getJson } from './long-poll.ts';

/** A watch not answered within this long is asked again: the registry answers one within 4 minutes (the supervisor's WATCH_MS). */
const WATCH_LIMIT_MS = 270_000;

const snapshotSchema = z.object({
  revision: z.number().int().nonnegative(),
  services: z.record(
    z.string(),
    z.array(
      z.object({
        instance: z.string(),
        http: z.string(),
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
 * the gRPC (or HTTP) addresses of its dependency's ready instances. A name with no ready instance
 * (or asked before the first answer) resolves to none: the call fails UNAVAILABLE naming it, or
 * waits within its deadline.
 */
export class RegistryWatch implements Discovery {
  readonly mode = 'registry';
  readonly #settings: RegistryWatchSettings;
  #revision = 0;
  /** Who asks, so the registry knows when every watcher has applied a change (a release's drain). */
  readonly #watcher = randomUUID();
  /**
   * Per `<service>/<protocol>`, the ready instances' addresses; a new array only when they (or a
   * weight) change.
   */
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

  /** Resolves after the first answer, or after `timeoutMs` (until then every name has no instance). */
  async ready(timeoutMs: number): Promise<void> {
    await Promise.race([this.#firstAnswer, sleep(timeoutMs, undefined, { ref: false })]);
  }

  async stop(): Promise<void> {
    this.#stopped.abort();
    await this.#loop;
  }

  endpoints(service: string, protocol: Protocol): Endpoints {
    const key = `${service}/${protocol}`;
    const none: readonly string[] = [];
    return {
      current: () => this.#byService.get(key) ?? none,
      weightOf: (address) => this.#weights.get(address) ?? 1,
      isCanary: (address) => this.#canaries.has(address),
    };
  }

  knows(): boolean {
    return true;
  }

  async #run(): Promise<void> {
    const { url, token, logger } = this.#settings;
    let failures = 0;
    while (!this.#stopped.signal.aborted) {
      try {
        // Untraced: a watch is asked again every few minutes while nothing changes (the registry
        // answers within 4), and a span for each (exported, then decoded and kept by the
        // supervisor) was most of what an idle service did. No timers but the signal's (one, set
        // once per watch): the watch is open all the time (getJson says why not fetch).
        const snapshot = await context.with(suppressTracing(context.active()), () =>
          getJson(
            `${url}/admin/registry?after=${this.#revision}&watcher=${this.#watcher}`,
            { authorization: `Bearer ${token}` },
            AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(WATCH_LIMIT_MS)]),
          ),
        );
        this.#apply(snapshotSchema.parse(snapshot));
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
    // A service that left the registry altogether has no instance any more.
    for (const key of this.#byService.keys())
      if (!(key.slice(0, key.lastIndexOf('/')) in snapshot.services)) this.#byService.set(key, []);
    for (const [service, instances] of Object.entries(snapshot.services)) {
      const ready = instances.filter((instance) => instance.ready);
      for (const protocol of ['grpc', 'http'] as const) {
        const listed = ready.flatMap((instance) => {
          const address = protocol === 'grpc' ? instance.grpc : instance.http;
          return address ? [{ address, weight: instance.weight, canary: instance.canary }] : [];
        });
        let weightChanged = false;
        for (const { address, weight, canary } of listed) {
          if (this.#weights.get(address) !== weight) weightChanged = true;
          this.#weights.set(address, weight);
          if (canary) this.#canaries.add(address);
          else this.#canaries.delete(address);
        }
        const addresses = listed.map(({ address }) => address).sort();
        const key = `${service}/${protocol}`;
        const known = this.#byService.get(key);
        if (!known || weightChanged || known.join(' ') !== addresses.join(' '))
          this.#byService.set(key, addresses);
      }
    }
    this.#answered();
  }
}
