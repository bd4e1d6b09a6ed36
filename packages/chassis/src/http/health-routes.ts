import type { Registry } from 'prom-client';
import type { HttpApp } from './create-http-server.ts';

export interface ReadinessCheck {
  name: string;
  /**
   * Resolves when the dependency is usable, optionally with details shown under `detail.<name>`
   * (a read model's lag, say); rejects with a reason otherwise.
   */
  check: () => Promise<unknown>;
}

export interface HealthState {
  /** False while starting and once shutdown has begun, so load balancers stop sending work. */
  accepting: boolean;
}

export function registerHealthRoutes(
  app: HttpApp,
  checks: readonly ReadinessCheck[],
  state: HealthState,
  registry: Registry,
): void {
  const quiet = { logLevel: 'silent' as const };

  app.get('/healthz', quiet, async () => ({ status: 'ok' }));

  app.get('/readyz', quiet, async (_request, reply) => {
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        try {
          const detail = await check();
          return [name, 'ok', typeof detail === 'object' && detail !== null ? detail : undefined] as const;
        } catch (error) {
          return [name, error instanceof Error ? error.message : String(error), undefined] as const;
        }
      }),
    );
    const ready = state.accepting && results.every(([, outcome]) => outcome === 'ok');
    const details = results.filter(([, , detail]) => detail !== undefined);
    return reply.status(ready ? 200 : 503).send({
      status: ready ? 'ready' : state.accepting ? 'not_ready' : 'shutting_down',
      checks: Object.fromEntries(results.map(([name, outcome]) => [name, outcome])),
      ...(details.length > 0
        ? { detail: Object.fromEntries(details.map(([name, , detail]) => [name, detail])) }
        : {}),
    });
  });

  app.get('/metrics', quiet, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}
