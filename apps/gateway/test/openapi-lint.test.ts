import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createService } from '@mercato/chassis';
import { describe, expect, it } from 'vitest';
import { gatewayDefinition } from '../src/gateway.service.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
// Nothing is called: the document is built from the routes alone.
const nowhere = 'http://127.0.0.1:9';

describe('the edge OpenAPI document', () => {
  it('passes `redocly lint` with its recommended rules and no errors, with an operationId on every operation', async () => {
    const service = await createService(gatewayDefinition, {
      LOG_LEVEL: 'silent',
      PORT: '0',
      IDENTITY_URL: nowhere,
      MERCATO_DISCOVERY: 'static',
    });
    const document = (await service.app.inject({ url: '/docs/json' })).json() as {
      servers: unknown[];
      paths: Record<string, Record<string, { operationId?: string; security?: unknown[] }>>;
    };
    await service.stop();

    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    expect(operations.every((operation) => operation.operationId && operation.security)).toBe(true);
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['placeOrder', 'getOrder', 'listOrderEvents', 'cancelOrder']));
    expect(document.paths['/api/orders']?.post?.security).toEqual([{ bearer: [] }]);
    expect(document.servers).not.toHaveLength(0);

    const folder = mkdtempSync(path.join(tmpdir(), 'mercato-openapi-'));
    try {
      const file = path.join(folder, 'openapi.json');
      writeFileSync(file, JSON.stringify(document));
      const lint = spawnSync(
        process.execPath,
        [path.join(root, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--format=summary'],
        {
          encoding: 'utf8',
          env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        },
      );
      const report = `${lint.stdout}\n${lint.stderr}`;
      expect(report, report).toMatch(/Your API description is valid/);
      expect(report).not.toMatch(/^error/m);
      expect(lint.status, report).toBe(0);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }, 60_000);
});
