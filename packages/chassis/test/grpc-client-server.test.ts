import http2 from 'node:http2';
import type { Socket } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, createClient } from '@connectrpc/connect';
import { compressionGzip, createGrpcTransport } from '@connectrpc/connect-node';
import { CatalogService, ProductSchema } from '@mercato/contracts/grpc/catalog';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { afterEach, describe, expect, it } from 'vitest';
import { CALL_IN_TRANSACTION, runInTransactionScope } from '../src/db/transaction-scope.ts';
import { AppError, OverloadedError } from '../src/errors/app-error.ts';
import { createGrpcClient, staticEndpoints } from '../src/grpc/grpc-client.ts';
import { GRPC_MAX_MESSAGE_BYTES } from '../src/grpc/grpc-limits.ts';
import { createGrpcServer, type GrpcServer } from '../src/grpc/grpc-server.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { runWithRequestContext } from '../src/logging/request-context.ts';
import { createServiceMetrics } from '../src/metrics/service-metrics.ts';
import {
  createDependencyPolicy,
  defaultPolicySettings,
  type PolicySettings,
} from '../src/resilience/dependency-policy.ts';
import { freePort, portOf } from '../src/testing/ports.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const logger = createLogger({ service: 'grpc-test', level: 'silent' });

/** A catalog whose behaviour each test scripts; it records what each call saw. */
function scriptedCatalog() {
  const seen: Array<{
    method: string;
    timeoutMs: number | undefined;
    correlation: string | null;
    acceptEncoding: string | null;
  }> = [];
  const behaviour = {
    fail: undefined as Code | undefined,
    delayMs: 0,
    notFound: false,
    throttled: false,
    shed: false,
    /** Answer with a product named this many bytes. */
    nameBytes: 0,
  };
  const calls = { getProduct: 0, listProducts: 0 };
  const routes = (router: ConnectRouter) =>
    router.service(CatalogService, {
      async getProduct(request, context) {
        calls.getProduct += 1;
        seen.push({
          method: 'GetProduct',
          timeoutMs: context.timeoutMs(),
          correlation: context.requestHeader.get('x-correlation-id'),
          acceptEncoding: context.requestHeader.get('grpc-accept-encoding'),
        });
        if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
        if (behaviour.fail !== undefined) throw new ConnectError('scripted failure', behaviour.fail);
        if (behaviour.notFound)
          throw new AppError({
            code: 'CATALOG.PRODUCT_NOT_FOUND',
            kind: 'not_found',
            message: 'no such product',
          });
        if (behaviour.shed) throw new OverloadedError('CATALOG.OVERLOADED', 'too busy', 2);
        if (behaviour.throttled)
          throw new AppError({
            code: 'CATALOG.SLOW_DOWN',
            kind: 'rate_limited',
            message: 'slow down',
            retryAfterSeconds: 7,
          });
        const name = behaviour.nameBytes ? 'n'.repeat(behaviour.nameBytes) : 'Tent';
        return { product: create(ProductSchema, { id: request.id, name }) };
      },
      listProducts: () => {
        calls.listProducts += 1;
        return {};
      },
      searchProducts: () => ({}),
      listCategories: () => ({}),
    });
  return { seen, behaviour, routes, calls };
}

describe('chassis gRPC client and server', () => {
  const servers: GrpcServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close(100);
  });

  const start = async (settings: Partial<PolicySettings> = {}) => {
    const catalog = scriptedCatalog();
    const metrics = createServiceMetrics('grpc-test');
    const server = createGrpcServer(catalog.routes, logger, metrics.rpc);
    servers.push(server);
    const url = await server.listen('127.0.0.1', 0);
    const { client, policy } = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      caller: 'gateway',
      url,
      settings: { ...defaultPolicySettings, retryInitialDelayMs: 1, retryMaxDelayMs: 5, ...settings },
      logger,
      metrics: metrics.rpc,
    });
    return { ...catalog, client, policy, metrics, url };
  };

  it('round-trips a call and carries the correlation id', async () => {
    const { client, seen } = await start();
    const response = await runWithRequestContext({ correlationId: 'corr_abc', requestId: 'req_1' }, () =>
      client.getProduct({ id: 'prod_1' }),
    );
    expect(response.product?.name).toBe('Tent');
    expect(seen[0]?.correlation).toBe('corr_abc');
  });

  it('asks for answers uncompressed, so no server gzips a page for a caller on the same network', async () => {
    const { client, seen } = await start();
    await client.getProduct({ id: 'prod_1' });
    expect(seen[0]?.acceptEncoding ?? '').not.toMatch(/gzip|br/);
  });

  it('refuses to start a call from inside a database transaction: nothing reaches the server', async () => {
    const { client, calls } = await start();
    const refused = await runInTransactionScope(() =>
      client.getProduct({ id: 'prod_1' }).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    expect(refused).toMatchObject({ code: CALL_IN_TRANSACTION, retryable: false });
    expect(String((refused as Error).message)).toContain('gRPC catalog/GetProduct');
    expect(calls.getProduct).toBe(0);
    // The same call outside the transaction goes through.
    expect((await client.getProduct({ id: 'prod_1' })).product?.name).toBe('Tent');
  });

  it('answers INVALID_ARGUMENT naming the field to a request with a control character, before any handler runs', async () => {
    const { client, calls } = await start();
    const refused = (await client.getProduct({ id: 'prod\u00001' }).catch((error) => error)) as AppError;
    expect(refused).toMatchObject({ code: 'REQUEST.INVALID', kind: 'validation' });
    expect(refused.details).toEqual({
      errors: [{ field: 'id', message: expect.stringContaining('control') }],
    });
    const nested = (await client
      .listProducts({ categorySlug: 'tents\r\nX-Injected: 1' })
      .catch((error) => error)) as AppError;
    expect(nested.details).toEqual({ errors: [{ field: 'categorySlug', message: expect.any(String) }] });
    expect(calls).toEqual({ getProduct: 0, listProducts: 0 });
  });

  it('reads no message over 4 MiB, gzipped or not, before any handler runs; and takes no answer over 4 MiB', async () => {
    const { client, calls, behaviour, url } = await start();
    // Any gRPC client, compressing what it sends: 40 MB of one byte is ~40 KB gzipped.
    const raw = (gzip: boolean) =>
      createClient(
        CatalogService,
        createGrpcTransport({
          baseUrl: url,
          ...(gzip ? { sendCompression: compressionGzip, compressMinBytes: 1 } : {}),
        }),
      );
    const refusal = async (id: string, gzip: boolean) =>
      (await raw(gzip)
        .getProduct({ id })
        .catch((error: unknown) => error)) as ConnectError;
    const inflated = await refusal('a'.repeat(40 * 1024 * 1024), true);
    expect(inflated.code).toBe(Code.ResourceExhausted);
    expect(inflated.rawMessage).toMatch(/readMaxBytes 4194304/);
    expect((await refusal('a'.repeat(GRPC_MAX_MESSAGE_BYTES + 1), false)).code).toBe(Code.ResourceExhausted);
    expect(calls.getProduct).toBe(0);
    // Under the limit, gzipped or not, a request is read as ever.
    expect((await raw(true).getProduct({ id: 'a'.repeat(1024 * 1024) })).product?.name).toBe('Tent');
    expect(calls.getProduct).toBe(1);
    // An answer over the limit is a failure of the call for our caller, not a rate limit to wait out.
    behaviour.nameBytes = GRPC_MAX_MESSAGE_BYTES + 1;
    const answer = (await client.getProduct({ id: 'prod_1' }).catch((error: unknown) => error)) as AppError;
    expect(answer).toMatchObject({ kind: 'bad_gateway', code: 'CATALOG.RESOURCEEXHAUSTED' });
  });

  it('checks the request of a server stream the same way, before the handler reads it', async () => {
    let streamed = 0;
    const server = createGrpcServer(
      (router) =>
        router.service(InventoryService, {
          async *streamStockLevels(request) {
            streamed += 1;
            yield { stock: { sku: request.skus[0] ?? '' } };
          },
        }),
      logger,
      createServiceMetrics('grpc-test').rpc,
    );
    servers.push(server);
    const { client } = createGrpcClient(InventoryService, {
      dependency: 'inventory',
      url: await server.listen('127.0.0.1', 0),
      settings: defaultPolicySettings,
      logger,
      metrics: createServiceMetrics('grpc-test').rpc,
    });
    const refused = await (async () => {
      try {
        for await (const _ of client.streamStockLevels({ skus: ['KIT\u00000001'] })) return 'answered';
        return 'ended';
      } catch (error) {
        return error;
      }
    })();
    // Refused as a unary call's refusal is: an AppError of its kind, the gRPC status as its cause.
    expect(refused).toBeInstanceOf(AppError);
    const failure = refused as AppError;
    expect(failure.kind).toBe('validation');
    expect(failure.code).toBe('REQUEST.INVALID');
    expect(failure.message).toMatch(/^skus\.0: /);
    expect((failure.cause as ConnectError).code).toBe(Code.InvalidArgument);
    expect(streamed).toBe(0);
    for await (const { stock } of client.streamStockLevels({ skus: ['KIT-0001'] }))
      expect(stock?.sku).toBe('KIT-0001');
    expect(streamed).toBe(1);
  });

  it('sends the smaller of its own timeout and the remaining deadline', async () => {
    const { client, seen } = await start({ timeoutMs: 5_000 });
    await runWithRequestContext({ correlationId: 'c', requestId: 'r', deadline: Date.now() + 400 }, () =>
      client.getProduct({ id: 'p' }),
    );
    await client.getProduct({ id: 'p' });
    expect(seen[0]?.timeoutMs).toBeLessThanOrEqual(400);
    expect(seen[0]?.timeoutMs).toBeGreaterThan(300);
    expect(seen[1]?.timeoutMs).toBeGreaterThan(4_000);
  });

  it('does not call at all when the deadline has passed', async () => {
    const { client, seen } = await start();
    const call = runWithRequestContext({ correlationId: 'c', requestId: 'r', deadline: Date.now() - 1 }, () =>
      client.getProduct({ id: 'p' }),
    );
    await expect(call).rejects.toMatchObject({ kind: 'timeout', code: 'CATALOG.DEADLINE_EXCEEDED' });
    expect(seen).toHaveLength(0);
  });

  it('returns the server AppError with its code and kind', async () => {
    const { client, behaviour } = await start();
    behaviour.notFound = true;
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({
      kind: 'not_found',
      code: 'CATALOG.PRODUCT_NOT_FOUND',
      message: 'no such product',
    });
    behaviour.notFound = false;
    behaviour.throttled = true;
    // When to ask again travels with the error, for the edge's Retry-After.
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({
      kind: 'rate_limited',
      code: 'CATALOG.SLOW_DOWN',
      retryAfterSeconds: 7,
    });
  });

  it('retries an idempotent call on UNAVAILABLE, up to the attempt limit', async () => {
    const { client, behaviour, seen, metrics } = await start({ retryAttempts: 3, breakerThreshold: 100 });
    behaviour.fail = Code.Unavailable;
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({ kind: 'unavailable' });
    expect(seen).toHaveLength(3);
    const retries = await metrics.registry.getSingleMetric('rpc_client_retries_total')?.get();
    expect(retries?.values[0]?.value).toBe(2);
  });

  it('does not retry a caller mistake', async () => {
    const { client, behaviour, seen } = await start();
    behaviour.fail = Code.InvalidArgument;
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({ kind: 'validation' });
    expect(seen).toHaveLength(1);
  });

  it('balances over three instances; one that stops is not seen by callers, and is used again once it is back', async () => {
    const instances = await Promise.all(
      [0, 1, 2].map(async () => {
        const catalog = scriptedCatalog();
        const server = createGrpcServer(catalog.routes, logger, createServiceMetrics('grpc-test').rpc);
        servers.push(server);
        return { catalog, server, url: await server.listen('127.0.0.1', 0) };
      }),
    );
    const metrics = createServiceMetrics('grpc-test');
    const { client } = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      url: instances[0]?.url ?? '',
      endpoints: staticEndpoints(instances.map((instance) => instance.url)),
      settings: { ...defaultPolicySettings, retryInitialDelayMs: 1, retryMaxDelayMs: 5 },
      logger,
      metrics: metrics.rpc,
    });
    for (let i = 0; i < 300; i += 1) await client.getProduct({ id: `p${i}` });
    for (const { catalog } of instances) {
      expect(catalog.seen.length / 300).toBeGreaterThan(0.2);
      expect(catalog.seen.length / 300).toBeLessThan(0.45);
    }

    // One stops (its port closes): every call, even one that is not retried, goes to the other two.
    const stopped = instances[0] as (typeof instances)[number];
    await stopped.server.close(100);
    servers.splice(servers.indexOf(stopped.server), 1);
    const seenBefore = stopped.catalog.seen.length;
    const outcomes = [];
    for (let i = 0; i < 100; i += 1)
      outcomes.push(
        await client.getProduct({ id: `q${i}` }, {}).then(
          () => 'ok',
          (error: unknown) => String(error),
        ),
      );
    expect(outcomes.filter((outcome) => outcome !== 'ok')).toEqual([]);
    expect(stopped.catalog.seen.length).toBe(seenBefore);
    expect(await metrics.registry.metrics()).toMatch(
      /rpc_client_ejections_total\{dependency="catalog",reason="unreachable",service="grpc-test"\} [1-9]/,
    );

    // Back on the same port: after its ejection runs out it gets calls again.
    const again = createGrpcServer(stopped.catalog.routes, logger, createServiceMetrics('grpc-test').rpc);
    servers.push(again);
    await again.listen('127.0.0.1', Number(new URL(stopped.url).port));
    // Its ejection grew while it kept refusing (250 ms, doubled each time): once it has run out,
    // the instance gets a call, answers, and is back in the pool with a clean record.
    await waitFor(
      'the instance back in use',
      async () => {
        await client.getProduct({ id: 'probe' });
        return stopped.catalog.seen.length > seenBefore;
      },
      15_000,
      20,
    );
    const backFrom = stopped.catalog.seen.length;
    for (let i = 0; i < 150; i += 1) await client.getProduct({ id: `r${i}` });
    expect(stopped.catalog.seen.length - backFrom).toBeGreaterThan(20);
  });

  it('sends a call that is not idempotent to another instance when one refuses the connection, and answers UNAVAILABLE naming the dependency when none is left', async () => {
    const catalog = scriptedCatalog();
    const server = createGrpcServer(catalog.routes, logger, createServiceMetrics('grpc-test').rpc);
    servers.push(server);
    const alive = await server.listen('127.0.0.1', 0);
    const gone = `http://127.0.0.1:${await freePort()}`;
    const metrics = createServiceMetrics('grpc-test');
    const { client } = createGrpcClient(IdentityService, {
      dependency: 'identity',
      url: gone,
      endpoints: staticEndpoints([gone, alive]),
      settings: { ...defaultPolicySettings, reconnectWaitMs: 0 },
      logger,
      metrics: metrics.rpc,
    });
    // Register is not idempotent, and identity is not served here: UNIMPLEMENTED is an answer, so
    // every call reached `alive` (the refusal of `gone` was never an attempt at it).
    for (let i = 0; i < 10; i += 1) {
      const error = (await client.register({}).catch((caught: unknown) => caught)) as AppError;
      expect(error.kind).not.toBe('unavailable');
    }
    const none = createGrpcClient(InventoryService, {
      dependency: 'inventory',
      url: gone,
      endpoints: staticEndpoints([]),
      settings: { ...defaultPolicySettings, reconnectWaitMs: 0 },
      logger,
      metrics: metrics.rpc,
    });
    await expect(none.client.getStock({ sku: 'x' })).rejects.toMatchObject({
      kind: 'unavailable',
      message: expect.stringContaining('inventory'),
    });
  });

  it('sends a call to the next instance when one refuses its stream unprocessed (a draining instance after its GOAWAY), even a call that is not idempotent', async () => {
    // An instance that refuses every stream, as a draining one refuses those opened after its GOAWAY.
    const refusing = http2.createServer();
    refusing.on('stream', (stream) => {
      stream.on('error', () => undefined);
      stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    });
    const sessions: http2.ServerHttp2Session[] = [];
    refusing.on('session', (session) => sessions.push(session));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const refusingUrl = `http://127.0.0.1:${portOf(refusing)}`;
    try {
      const catalog = scriptedCatalog();
      const metrics = createServiceMetrics('grpc-test');
      const server = createGrpcServer(catalog.routes, logger, metrics.rpc);
      servers.push(server);
      const alive = await server.listen('127.0.0.1', 0);
      const settings = { ...defaultPolicySettings, retryAttempts: 0, reconnectWaitMs: 0 };
      const identity = createGrpcClient(IdentityService, {
        dependency: 'identity',
        endpoints: staticEndpoints([refusingUrl, alive]),
        settings,
        logger,
        metrics: metrics.rpc,
      });
      // Register is not idempotent and identity is not served here: UNIMPLEMENTED is an answer.
      for (let i = 0; i < 6; i += 1) {
        const error = (await identity.client.register({}).catch((caught: unknown) => caught)) as AppError;
        expect(error.code).toBe('IDENTITY.UNIMPLEMENTED');
      }
      const onlyRefusing = createGrpcClient(CatalogService, {
        dependency: 'catalog',
        endpoints: staticEndpoints([refusingUrl]),
        settings,
        logger,
        metrics: metrics.rpc,
      });
      // With nowhere else to go it is unavailable (a 503 to ask again), not the dependency's bug.
      await expect(onlyRefusing.client.getProduct({ id: 'p1' })).rejects.toMatchObject({
        kind: 'unavailable',
        code: 'CATALOG.UNAVAILABLE',
      });
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => refusing.close(resolve));
    }
  });

  it('loses no call of a steady stream while one of two instances drains and stops', async () => {
    const instances = [scriptedCatalog(), scriptedCatalog()];
    const metrics = createServiceMetrics('grpc-test');
    const started = instances.map((catalog) => {
      catalog.behaviour.delayMs = 20;
      return createGrpcServer(catalog.routes, logger, metrics.rpc);
    });
    servers.push(...started);
    const urls = await Promise.all(started.map((server) => server.listen('127.0.0.1', 0)));
    const { client } = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      endpoints: staticEndpoints(urls),
      settings: { ...defaultPolicySettings, retryAttempts: 0, reconnectWaitMs: 0 },
      logger,
      metrics: metrics.rpc,
    });
    const failed: string[] = [];
    // Answers to calls sent before the drain began, during it, and after the instance stopped.
    const answered = { before: 0, during: 0, after: 0 };
    let phase: keyof typeof answered = 'before';
    let running = true;
    const callers = Array.from({ length: 8 }, async () => {
      while (running) {
        const sentIn = phase;
        await client.getProduct({ id: 'p1' }).then(
          () => {
            answered[sentIn] += 1;
          },
          (error: unknown) => {
            failed.push(error instanceof AppError ? error.code : String(error));
          },
        );
      }
    });
    // Counted, not timed: on a loaded machine a fixed 150 ms held a third of the calls it does idle.
    await waitFor('calls answered by both instances', () => answered.before >= 16, 10_000, 5);
    phase = 'during';
    await started[0]?.close(5_000);
    phase = 'after';
    await waitFor('calls sent after it stopped answered', () => answered.after >= 16, 10_000, 5);
    running = false;
    await Promise.all(callers);
    expect(failed).toEqual([]);
  });

  it('opens the breaker after five failures, fails fast, and closes after a half-open success', async () => {
    const { client, behaviour, seen, policy } = await start({
      retryAttempts: 1,
      breakerOpenMs: 150,
      reconnectWaitMs: 0,
    });
    behaviour.fail = Code.Unavailable;
    for (let i = 0; i < 5; i += 1) await expect(client.getProduct({ id: 'p' })).rejects.toThrow();
    expect(policy.breakerState()).toBe('open');

    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({ code: 'CATALOG.CIRCUIT_OPEN' });
    expect(seen).toHaveLength(5);

    behaviour.fail = undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(client.getProduct({ id: 'p' })).resolves.toBeDefined();
    expect(policy.breakerState()).toBe('closed');
  });

  it('waits out a dependency that refuses connections for a moment, and fails within the deadline when it stays away', async () => {
    const catalog = scriptedCatalog();
    const metrics = createServiceMetrics('grpc-test');
    const port = await freePort();
    const { client, policy } = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      url: `http://127.0.0.1:${port}`,
      settings: { ...defaultPolicySettings, retryInitialDelayMs: 1, retryMaxDelayMs: 5 },
      logger,
      metrics: metrics.rpc,
    });
    // Nothing listens yet: the call is refused, then the circuit opens, and the call keeps waiting.
    const began = Date.now();
    const call = client.getProduct({ id: 'p' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(policy.breakerState()).toBe('open');
    const server = createGrpcServer(catalog.routes, logger, metrics.rpc);
    servers.push(server);
    await server.listen('127.0.0.1', port);
    await expect(call).resolves.toMatchObject({ product: { name: 'Tent' } });
    // The circuit half-opens 1 s after it opened (refusals do not double that), so well under 2 s.
    expect(Date.now() - began).toBeLessThan(1_900);
    expect(catalog.seen).toHaveLength(1);
    expect(policy.breakerState()).toBe('closed');

    // The caller's deadline bounds the wait.
    const gone = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      url: `http://127.0.0.1:${await freePort()}`,
      settings: defaultPolicySettings,
      logger,
      metrics: metrics.rpc,
    });
    const started = Date.now();
    await expect(
      runWithRequestContext({ correlationId: 'c', requestId: 'r', deadline: Date.now() + 300 }, () =>
        gone.client.getProduct({ id: 'p' }),
      ),
    ).rejects.toMatchObject({ kind: 'unavailable' });
    expect(Date.now() - started).toBeLessThan(600);
  });

  it('reports a connection that breaks mid-call (the dependency died) as unavailable, not as a conflict', async () => {
    // An HTTP/2 peer that accepts the connection, takes the request and dies without answering.
    const dying = http2.createServer();
    const sockets = new Set<Socket>();
    dying.on('connection', (socket: Socket) => sockets.add(socket));
    dying.on('stream', () => {
      for (const socket of sockets) socket.destroy();
    });
    await new Promise<void>((resolve) => dying.listen(0, '127.0.0.1', resolve));
    const port = portOf(dying);
    const metrics = createServiceMetrics('grpc-test');
    const { client } = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      url: `http://127.0.0.1:${port}`,
      settings: { ...defaultPolicySettings, retryInitialDelayMs: 1, retryMaxDelayMs: 5 },
      logger,
      metrics: metrics.rpc,
    });
    try {
      await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({
        kind: 'unavailable',
        code: 'CATALOG.UNAVAILABLE',
      });
    } finally {
      await new Promise((resolve) => dying.close(resolve));
    }
  });

  it('does not repeat a call that is not idempotent, even when it was refused', async () => {
    const metrics = createServiceMetrics('grpc-test');
    const refused = new ConnectError('connect ECONNREFUSED', Code.Unavailable, undefined, undefined, {
      code: 'ECONNREFUSED',
    });
    const policy = createDependencyPolicy({
      dependency: 'orders',
      settings: defaultPolicySettings,
      isFailure: () => true,
      isTransient: () => true,
      neverReached: (error) => error === refused,
      logger,
      metrics: metrics.rpc,
    });
    let calls = 0;
    const fail = async () => {
      calls += 1;
      throw refused;
    };
    await expect(policy.execute(fail, { idempotent: false, method: 'CreateOrder' })).rejects.toBe(refused);
    expect(calls).toBe(1);
    await expect(policy.execute(fail, { idempotent: true, method: 'GetOrder' })).rejects.toBe(refused);
    expect(calls).toBeGreaterThan(3);
  });

  it('keeps thirty calls in flight at once without a listener warning (each call has its own abort signal)', async () => {
    const metrics = createServiceMetrics('grpc-test');
    const policy = createDependencyPolicy({
      dependency: 'catalog',
      settings: defaultPolicySettings,
      isFailure: () => true,
      isTransient: () => false,
      neverReached: () => false,
      logger,
      metrics: metrics.rpc,
    });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const slow = () => new Promise((resolve) => setTimeout(resolve, 20));
      await Promise.all(
        Array.from({ length: 30 }, () => policy.execute(slow, { idempotent: true, method: 'GetProduct' })),
      );
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('counts timeouts against the breaker', async () => {
    const { client, behaviour, policy } = await start({
      retryAttempts: 1,
      timeoutMs: 30,
      breakerThreshold: 2,
    });
    behaviour.delayMs = 200;
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({ kind: 'timeout' });
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({ kind: 'timeout' });
    expect(policy.breakerState()).toBe('open');
  });

  it('rejects at once when the bulkhead and its queue are full', async () => {
    const { client, behaviour, metrics } = await start({ bulkheadLimit: 1, bulkheadQueue: 0 });
    behaviour.delayMs = 100;
    const first = client.getProduct({ id: 'p' });
    await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({ code: 'CATALOG.BULKHEAD_FULL' });
    await first;
    const rejected = await metrics.registry.getSingleMetric('rpc_client_bulkhead_rejections_total')?.get();
    expect(rejected?.values[0]?.value).toBe(1);
  });

  it('with an adaptive limit, refuses at once beyond it, without a queue and without opening the circuit', async () => {
    const { client, behaviour, metrics, policy, seen } = await start({
      concurrencyLimit: 'adaptive',
      limitInitial: 2,
      limitMin: 2,
      limitMax: 2,
      breakerThreshold: 1,
    });
    behaviour.delayMs = 100;
    const admitted = [client.getProduct({ id: 'a' }), client.getProduct({ id: 'b' })];
    const refusal = await client.getProduct({ id: 'c' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OverloadedError);
    expect(refusal).toMatchObject({ code: 'GATEWAY.OVERLOADED', kind: 'unavailable', retryAfterSeconds: 1 });
    await Promise.all(admitted);
    expect(seen).toHaveLength(2);
    expect(policy.breakerState()).toBe('closed');
    const text = await metrics.registry.metrics();
    expect(text).toContain('concurrency_limit_refusals_total{limiter="catalog",service="grpc-test"} 1');
  });

  it('with an adaptive limit, calls waiting out a restart hold no permits: a new call is not refused for them', async () => {
    const metrics = createServiceMetrics('grpc-test');
    const { client } = createGrpcClient(CatalogService, {
      dependency: 'catalog',
      caller: 'gateway',
      url: `http://127.0.0.1:${await freePort()}`,
      settings: {
        ...defaultPolicySettings,
        concurrencyLimit: 'adaptive',
        limitInitial: 5,
        limitMin: 5,
        limitMax: 5,
        reconnectWaitMs: 1_500,
      },
      logger,
      metrics: metrics.rpc,
    });
    // Nothing listens: five calls wait in the reconnect loop, none of them at the dependency. Each
    // holds a permit only for its brief attempts, so a sixth finds the limit (5) free and waits too,
    // rather than being refused as overloaded.
    const waiting = Array.from({ length: 5 }, (_, i) =>
      client.getProduct({ id: `w${i}` }).catch((e: unknown) => e),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sixth = (await client.getProduct({ id: 'sixth' }).catch((error: unknown) => error)) as AppError;
    expect(sixth.code).not.toBe('GATEWAY.OVERLOADED');
    expect(sixth.kind).toBe('unavailable');
    for (const error of (await Promise.all(waiting)) as AppError[])
      expect(error.code).not.toBe('GATEWAY.OVERLOADED');
  });

  it("passes on a dependency's load shedding as a 503 with its Retry-After, neither retried nor counted by the breaker", async () => {
    const { client, behaviour, policy, seen } = await start({ retryAttempts: 3, breakerThreshold: 1 });
    behaviour.shed = true;
    for (let i = 0; i < 3; i += 1)
      await expect(client.getProduct({ id: 'p' })).rejects.toMatchObject({
        code: 'CATALOG.OVERLOADED',
        kind: 'unavailable',
        status: 503,
        retryAfterSeconds: 2,
      });
    expect(seen).toHaveLength(3);
    expect(policy.breakerState()).toBe('closed');
  });
});
