import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { platformDataDir, templateFolder } from './platform-template.ts';

describe("a suite's data folder from the template", () => {
  const saved = { TMPDIR: process.env.TMPDIR, template: process.env.MERCATO_E2E_TEMPLATE };
  let temporary = '';

  beforeEach(() => {
    // A temporary folder of the test's own, holding a template as the global setup leaves one.
    temporary = mkdtempSync(path.join(tmpdir(), 'mercato-template-test-'));
    process.env.TMPDIR = temporary;
    delete process.env.MERCATO_E2E_TEMPLATE;
    const postgres = path.join(templateFolder(), 'postgres');
    mkdirSync(postgres, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(postgres, 'PG_VERSION'), '18\n', { mode: 0o600 });
    writeFileSync(path.join(templateFolder(), 'postgres-superuser'), 'secret\n', { mode: 0o600 });
  });

  afterEach(() => {
    for (const [name, value] of [
      ['TMPDIR', saved.TMPDIR],
      ['MERCATO_E2E_TEMPLATE', saved.template],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    rmSync(temporary, { recursive: true, force: true });
  });

  it('is a copy of the template, PostgreSQL folder modes kept (the server refuses a folder others can read)', async () => {
    const dataDir = await platformDataDir('orders');
    expect(path.basename(dataDir)).toMatch(/^mercato-orders-/);
    expect(readFileSync(path.join(dataDir, 'postgres', 'PG_VERSION'), 'utf8')).toBe('18\n');
    expect(statSync(path.join(dataDir, 'postgres')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dataDir, 'postgres-superuser')).mode & 0o777).toBe(0o600);
  });

  it('is empty on the NATS bus (the seed events would be missing from JetStream) and with MERCATO_E2E_TEMPLATE=off', async () => {
    const onNats = await platformDataDir('nats', { MERCATO_BUS: 'nats' });
    process.env.MERCATO_E2E_TEMPLATE = 'off';
    const off = await platformDataDir('off');
    expect([readdirSync(onNats), readdirSync(off)]).toEqual([[], []]);
  });

  it('is empty when there is no template for this build', async () => {
    rmSync(templateFolder(), { recursive: true, force: true });
    expect(readdirSync(await platformDataDir('cold'))).toEqual([]);
  });
});
