import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, trace } from '@opentelemetry/api';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logging/create-logger.ts';
import { RegistryWatch } from './registry-watch.ts';

/**
 * The registry watch is asked again every few minutes while nothing changes: it makes no span (a span per
 * ask, exported and then decoded by the supervisor, was most of what an idle service did), while
 * the same process's other HTTP calls are traced as before.
 */
describe('the registry watch is not traced', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const instrumentation = new UndiciInstrumentation();
  let server: Server;
  let url = '';
  let asked = 0;

  beforeAll(async () => {
    provider.register();
    instrumentation.setTracerProvider(provider);
    instrumentation.enable();
    server = createServer((request, response) => {
      if (request.url?.startsWith('/admin/registry')) asked += 1;
      response.setHeader('content-type', 'application/json');
      // Every ask answers at once with the same revision: the watch asks again and again.
      response.end(JSON.stringify({ revision: 1, services: {} }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    instrumentation.disable();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('asks the registry without a span; another fetch still has one', async () => {
    const watch = new RegistryWatch({
      url,
      token: 't'.repeat(32),
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    watch.start();
    await expect.poll(() => asked, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    await watch.stop();
    await (await fetch(`${url}/other`)).text();
    const urls = exporter.getFinishedSpans().map((span) => String(span.attributes['url.full']));
    expect(urls).toEqual([`${url}/other`]);
  });
});
