import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ChassisConfig } from '@mercato/chassis';
import {
  createTestMessageStore,
  probe,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestService,
} from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogDefinition } from '../services/catalog/src/catalog.service.ts';
import { inventoryDefinition } from '../services/inventory/src/inventory.service.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
// Debian's python3-grpcio is built for the system interpreter, whatever else is on PATH.
const python = '/usr/bin/python3';

const postgres = await probePostgres();
const grpcio = postgres.available
  ? await probe(`grpcio for ${python} (apt-get install python3-grpcio)`, async () => {
      await run(python, ['-c', 'import grpc, google.protobuf']);
    })
  : postgres;

describe.skipIf(!grpcio.available)(
  suiteTitle("Python's grpcio calling catalog and inventory", grpcio),
  () => {
    const services: Array<TestService<ChassisConfig>> = [];
    let workDir = '';
    let dropMessages: () => Promise<void>;

    beforeAll(async () => {
      const messages = await createTestMessageStore('python_messages');
      dropMessages = messages.drop;
      const shared = { MESSAGES_DATABASE_URL: messages.url };
      services.push(
        (await startTestService(catalogDefinition, shared)) as unknown as TestService<ChassisConfig>,
      );
      services.push(
        (await startTestService(inventoryDefinition, shared)) as unknown as TestService<ChassisConfig>,
      );
      workDir = await mkdtemp(path.join(tmpdir(), 'mercato-python-'));
    }, 60_000);
    afterAll(async () => {
      for (const service of services) await service.stop();
      await dropMessages?.();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    it('gets a product and reads the stock stream over plain gRPC', async () => {
      const [catalog, inventory] = services;
      const descriptors = path.join(workDir, 'mercato.binpb');
      await run(path.join(root, 'node_modules/.bin/buf'), [
        'build',
        path.join(root, 'packages/contracts'),
        '-o',
        descriptors,
      ]);
      const products = (await (
        await fetch(`${catalog?.url}/products?page_size=1&category=outdoor`)
      ).json()) as {
        items: Array<{ id: string; sku: string }>;
      };
      const product = products.items[0];
      const address = (url = '') => new URL(url).host;

      const { stdout } = await run(python, [
        path.join(root, 'e2e/grpc-clients/call_services.py'),
        descriptors,
        address(catalog?.grpcUrl),
        address(inventory?.grpcUrl),
        product?.id ?? '',
        product?.sku ?? '',
      ]);
      const [got, missing, streamed] = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);

      expect(got).toMatchObject({
        call: 'GetProduct',
        response: { product: { id: product?.id, sku: product?.sku } },
      });
      expect(missing).toMatchObject({ call: 'GetProduct', status: 'NOT_FOUND' });
      expect(streamed).toMatchObject({
        call: 'StreamStockLevels',
        response: { stock: { sku: product?.sku } },
      });
      const response = streamed?.response as { stock?: { warehouses: unknown[] } } | undefined;
      expect(response?.stock?.warehouses).toHaveLength(2);
    });
  },
);
