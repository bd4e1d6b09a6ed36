import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routedToMonolith } from './migration-control.ts';

describe('what of the routing table still reaches the monolith', () => {
  let folder = '';
  const routed = async (table: unknown) => {
    const file = path.join(folder, `${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(table));
    return routedToMonolith(file);
  };
  const grpc = { protocol: 'grpc', backends: [{ service: 'catalog' }] };
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'mercato-routed-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('is nothing once no cluster, route or mapping names it', async () => {
    expect(
      await routed({
        clusters: { catalog: grpc },
        routes: [{ name: 'api', match: { path_prefix: '/api/' } }],
      }),
    ).toEqual([]);
  });

  it('names the clusters, proxies and mappings that still do', async () => {
    expect(
      await routed({
        clusters: {
          catalog: grpc,
          legacy: { protocol: 'http', backends: [{ url: 'http://127.0.0.1:9000' }] },
          old: { protocol: 'http', backends: [{ service: 'legacy' }] },
        },
        routes: [
          { name: 'legacy', proxy: 'legacy' },
          { name: 'reports', proxy: 'gone' },
          { name: 'reads', clusters: { legacy: 'old' } },
        ],
      }),
    ).toEqual([
      'cluster legacy',
      'cluster old',
      'route legacy proxies to legacy',
      'route reports proxies to gone',
      'route reads sends legacy to old',
    ]);
  });

  it('refuses to guess when the table cannot be read', async () => {
    await expect(routedToMonolith(path.join(folder, 'missing.json'))).rejects.toThrow(
      /routing table .*missing\.json cannot be read/,
    );
  });
});
