import { describe, expect, it } from 'vitest';
import { instanceNames, parseReplicas } from './replicas.ts';
import { serviceCatalog } from './services.ts';

describe('parseReplicas', () => {
  it('reads service=count pairs; services not named run once', () => {
    expect(parseReplicas('', serviceCatalog)).toEqual(new Map());
    expect(parseReplicas('catalog=3, order=2', serviceCatalog)).toEqual(
      new Map([
        ['catalog', 3],
        ['order', 2],
      ]),
    );
    expect(instanceNames('catalog', 3)).toEqual(['catalog', 'catalog-2', 'catalog-3']);
  });

  it('names each mistake: a shape, an unknown service, one that runs once, a count out of range, a repeat', () => {
    const error = (text: string) => {
      try {
        parseReplicas(text, serviceCatalog);
        return 'no error';
      } catch (caught) {
        return (caught as Error).message;
      }
    };
    expect(error('catalog')).toBe('replicas: expected service=count (e.g. catalog=3), got "catalog"');
    expect(error('catalogue=2')).toMatch(/^replicas: catalogue is not a service \(catalog, identity, /);
    expect(error('gateway=2')).toMatch(/^replicas: gateway runs once \(only catalog, /);
    expect(error('smtp-sink=2')).toMatch(/^replicas: smtp-sink runs once/);
    expect(error('catalog=0')).toBe('replicas: catalog=0 is out of range (1 to 8)');
    expect(error('catalog=9')).toBe('replicas: catalog=9 is out of range (1 to 8)');
    expect(error('catalog=2,catalog=3')).toBe('replicas: catalog is named twice');
  });
});
