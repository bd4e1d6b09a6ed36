import { access, mkdir, mkdtemp, readFile, rm, utimes } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  createTestDatabase,
  createTestMessageStore,
  ProcessUnderTest,
  probePostgres,
  suiteTitle,
  waitFor,
} from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTarget, builtCommand, isStale } from '../src/build/service-build.ts';
import { repositoryRoot } from '../src/services.ts';

const postgres = await probePostgres();

/** An OTLP/HTTP endpoint that keeps what it is sent (protobuf: span names and attributes are plain bytes). */
async function startSpanSink(): Promise<{
  url: string;
  received: () => string;
  clear: () => void;
  server: Server;
}> {
  const bodies: Buffer[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received: () => Buffer.concat(bodies).toString('latin1'),
    clear: () => bodies.splice(0),
    server,
  };
}

describe.skipIf(!postgres.available)(suiteTitle('a built service', postgres), () => {
  const catalog = {
    name: 'catalog',
    directory: path.join(repositoryRoot, 'services', 'catalog'),
    outdir: '',
  };
  const cleanups: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    // Inside the repository, so the bundle's external packages resolve from its node_modules.
    const cache = path.join(repositoryRoot, 'node_modules', '.cache');
    await mkdir(cache, { recursive: true });
    catalog.outdir = await mkdtemp(path.join(cache, 'mercato-build-'));
    cleanups.push(() => rm(catalog.outdir, { recursive: true, force: true }));
    await buildTarget(catalog, repositoryRoot);
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('is stale only when a file it was built from is newer than the build', async () => {
    expect(await isStale(catalog, repositoryRoot)).toBe(false);
    const record = path.join(catalog.outdir, 'build.json');
    const inputs = (JSON.parse(await readFile(record, 'utf8')) as { inputs: string[] }).inputs;
    expect(inputs).toContain('services/catalog/src/catalog.service.ts');
    expect(inputs).toContain('packages/chassis/src/create-service.ts');
    const longAgo = new Date('2020-01-01T00:00:00Z');
    await utimes(record, longAgo, longAgo);
    expect(await isStale(catalog, repositoryRoot)).toBe(true);
  });

  it('maps stack frames to our TypeScript, and only ours', async () => {
    const map = JSON.parse(await readFile(path.join(catalog.outdir, 'main.cjs.map'), 'utf8')) as {
      sources: string[];
      mappings: string;
    };
    expect(map.sources.some((source) => source.endsWith('services/catalog/src/catalog.service.ts'))).toBe(
      true,
    );
    expect(map.mappings.length).toBeGreaterThan(1_000);
  });

  it('loads the packages left out of it through the launcher, not an import() a code cache would break', async () => {
    const code = await readFile(path.join(catalog.outdir, 'main.cjs'), 'utf8');
    expect(code).not.toContain('import("node-pg-migrate")');
    expect(code).toContain('Symbol.for("mercato.import")');
  });

  it('still traces its requests and its database calls, started from the code cache or not', async () => {
    const database = await createTestDatabase('catalog_built');
    const messages = await createTestMessageStore('catalog_built_messages');
    cleanups.push(database.drop, messages.drop);
    const sink = await startSpanSink();
    cleanups.push(() => new Promise((resolve) => sink.server.close(resolve)));
    // The first start writes the code cache (right away here); the second starts from it.
    for (const start of ['without a cache', 'from the cache']) {
      sink.clear();
      const service = new ProcessUnderTest(
        builtCommand().map((argument) =>
          argument === 'dist/launch.cjs' ? path.join(catalog.outdir, 'launch.cjs') : argument,
        ),
        {
          cwd: catalog.directory,
          env: {
            PATH: process.env.PATH ?? '',
            DATABASE_URL: database.url,
            MESSAGES_DATABASE_URL: messages.url,
            PORT: '0',
            GRPC_PORT: '0',
            OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
            OTEL_BSP_SCHEDULE_DELAY: '100',
            MERCATO_SERVICE: 'catalog',
            MERCATO_CODE_CACHE_AFTER_MS: '0',
          },
        },
      );
      const listening = await service.waitForLine(/"message":"catalog listening"/, 20_000);
      const { address } = JSON.parse(listening) as { address: string };
      const response = await fetch(`${address}/products?page_size=3`);
      expect(response.status, start).toBe(200);
      await waitFor(
        `a pg span exported (${start})`,
        async () => sink.received().includes('postgresql'),
        10_000,
      );
      expect(sink.received()).toContain('catalog');
      expect(sink.received()).toMatch(/SELECT/);
      // Fastify's server span, through diagnostics_channel now that fastify is in the bundle.
      await waitFor(
        `a request span exported (${start})`,
        async () => sink.received().includes('/products'),
        10_000,
      );
      await service.kill('SIGTERM');
      if (start === 'without a cache')
        await waitFor(
          'the code cache written',
          () =>
            access(path.join(catalog.outdir, 'main.cjs.v8cache')).then(
              () => true,
              () => false,
            ),
          10_000,
        );
    }
  });
});
