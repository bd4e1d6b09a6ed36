import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoBreaking } from '../scripts/proto-breaking.ts';
import type { MessageBaseline } from '../src/compat/message-compat.ts';

const moduleDir = fileURLToPath(new URL('..', import.meta.url));
const released = path.join(moduleDir, 'compat', 'proto.binpb');
const catalogProto = path.join('proto', 'mercato', 'catalog', 'v1', 'catalog.proto');

/** A copy of the contracts' buf module whose catalog.proto `edit` changes. */
async function moduleWith(dir: string, edit: (proto: string) => string): Promise<string> {
  const copy = await mkdtemp(path.join(dir, 'module-'));
  await cp(path.join(moduleDir, 'buf.yaml'), path.join(copy, 'buf.yaml'));
  await cp(path.join(moduleDir, 'proto'), path.join(copy, 'proto'), { recursive: true });
  const file = path.join(copy, catalogProto);
  await writeFile(file, edit(await readFile(file, 'utf8')));
  return copy;
}

describe('the contracts against the released ones', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mercato-contracts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes the protos as they are and a new field, fails a removed field and a changed type', async () => {
    expect(protoBreaking(moduleDir, released)).toMatchObject({ ok: true });

    const added = await moduleWith(dir, (proto) =>
      proto.replace('  string updated_at = 7;\n}', '  string updated_at = 7;\n  string brand = 8;\n}'),
    );
    expect(protoBreaking(added, released)).toMatchObject({ ok: true });

    const removed = await moduleWith(dir, (proto) => proto.replace('  string description = 4;\n', ''));
    const removal = protoBreaking(removed, released);
    expect(removal.ok).toBe(false);
    expect(removal.findings.join('\n')).toMatch(
      /catalog\.proto.*Previously present field "4" with name "description" on message "Product" was deleted/,
    );

    const retyped = await moduleWith(dir, (proto) =>
      proto.replace('string category_slug = 5;', 'int32 category_slug = 5;'),
    );
    const retype = protoBreaking(retyped, released);
    expect(retype.ok).toBe(false);
    expect(retype.findings.join('\n')).toMatch(/"category_slug".*changed type from "string" to "int32"/);
  });

  it('npm run check:contracts fails, naming the field, when a released message had a field no longer written', async () => {
    const script = path.join(moduleDir, 'scripts', 'check-compat.ts');
    const run = (messages: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', script, '--messages-baseline', messages], {
        cwd: moduleDir,
        encoding: 'utf8',
      });
    expect(run(path.join(moduleDir, 'compat', 'messages.json')).status).toBe(0);

    // A released order.created whose consumers required a field the current producer does not write.
    const baseline = JSON.parse(
      await readFile(path.join(moduleDir, 'compat', 'messages.json'), 'utf8'),
    ) as MessageBaseline;
    const created = baseline['order.created'];
    if (!created) throw new Error('order.created is not in the baseline');
    const reads = created.reads as { properties: Record<string, unknown>; required: string[] };
    reads.properties.channel = { type: 'string' };
    reads.required.push('channel');
    const edited = path.join(dir, 'messages.json');
    await writeFile(edited, JSON.stringify(baseline));
    const failed = run(edited);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(
      'order.created: order.created 1.0 → 1.0: a consumer of 1.0 cannot read what is written now: channel is required by the reader; the writer does not write it',
    );
  });
});
