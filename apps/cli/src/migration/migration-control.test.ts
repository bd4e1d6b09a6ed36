import { describe, expect, it } from 'vitest';
import { monolithRoutes } from './migration-control.ts';

describe('what of a routing table still reaches the monolith', () => {
  const grpc = { protocol: 'grpc', backends: [{ service: 'catalog' }] };

  it('is nothing once no cluster, route or mapping names it', () => {
    expect(
      monolithRoutes({
        clusters: { catalog: grpc },
        routes: [{ name: 'api' }, { name: 'reports', proxy: 'catalog' }],
      }),
    ).toEqual([]);
  });

  it('names the clusters, proxies and mappings that still do', () => {
    expect(
      monolithRoutes({
        clusters: {
          catalog: grpc,
          legacy: { backends: [{}] },
          old: { backends: [{ service: 'legacy' }] },
        },
        routes: [
          { name: 'legacy', proxy: 'legacy' },
          { name: 'reports', proxy: 'old' },
          { name: 'reads', clusters: { legacy: 'catalog' } },
        ],
      }),
    ).toEqual([
      'cluster legacy',
      'cluster old',
      'route legacy proxies to legacy',
      'route reports proxies to old',
      'route reads sends legacy to catalog',
    ]);
  });
});
