import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../errors/app-error.ts';
import { canonicalTarget } from './request-path.ts';

const refusal = (target: string) => {
  try {
    canonicalTarget(target);
    return undefined;
  } catch (error) {
    return isAppError(error) ? error.code : 'not an AppError';
  }
};

describe('canonicalTarget', () => {
  it.each([
    ['/api/orders/ord_1', '/api/orders/ord_1', '/api/orders/ord_1'],
    ['/api/orders?order_id=a%2Fb', '/api/orders', '/api/orders?order_id=a%2Fb'],
    ['/%61pi/orders', '/api/orders', '/api/orders'],
    ['//api///orders', '/api/orders', '/api/orders'],
    ['/api/./orders/../customers/me', '/api/customers/me', '/api/customers/me'],
    ['/api/x/%2e%2E/orders', '/api/orders', '/api/orders'],
    ['/api/orders/', '/api/orders/', '/api/orders/'],
    ['/api/orders/.', '/api/orders/', '/api/orders/'],
    ['/api/orders/..', '/api/', '/api/'],
    ['/', '/', '/'],
    ['/API/Orders', '/API/Orders', '/API/Orders'],
    ['/caf%C3%A9/a%20b', '/café/a b', '/caf%C3%A9/a%20b'],
    // Node hands raw UTF-8 bytes over as latin1 characters.
    ['/caf\u00c3\u00a9', '/café', '/caf%C3%A9'],
    ['/a:b@c', '/a:b@c', '/a:b@c'],
    ['/x/%3A', '/x/:', '/x/:'],
  ])('%s → %s', (target, path, url) => {
    expect(canonicalTarget(target)).toEqual({ path, url });
  });

  it.each([
    '/a%2fb',
    '/a%5Cb',
    '/a\\b',
    '/a%00',
    '/a%1b[31m',
    '/a%7F',
    '/a%C2%85',
    '/%2561',
    '/%c0%af',
    '/%e0%80%af',
    '/%ed%a0%80',
    '/%ff',
    '/a%',
    '/a%g0',
    '/a;b=1',
    '/a%3Bb',
    '/..',
    '/a/../..',
    '*',
    'http://evil.example/admin',
  ])('refuses %s', (target) => {
    expect(refusal(target)).toBe('HTTP.BAD_PATH');
  });

  const segment = fc.oneof(
    fc.constantFrom('', '.', '..', '%2e', '%2E%2e', 'admin', 'API', 'a b', 'é', ':', '%41', '~x'),
    fc.string({ minLength: 1, maxLength: 6, unit: 'binary' }),
  );
  const target = fc.array(segment, { maxLength: 8 }).map((parts) => `/${parts.join('/')}`);

  it('is idempotent and leaves no empty or dot segment, whatever it is given', () => {
    fc.assert(
      fc.property(target, (raw) => {
        let first: ReturnType<typeof canonicalTarget>;
        try {
          first = canonicalTarget(raw);
        } catch (error) {
          expect(isAppError(error) && error.code).toBe('HTTP.BAD_PATH');
          return;
        }
        expect(canonicalTarget(first.url)).toEqual(first);
        const inner = first.path.slice(1).split('/');
        // Only the last segment may be empty (a trailing slash).
        expect(inner.slice(0, -1).every((part) => part !== '' && part !== '.' && part !== '..')).toBe(true);
        expect(['.', '..']).not.toContain(inner.at(-1));
        // What the router decodes from the url is the path the guards saw.
        expect(decodeURIComponent(first.url.split('?', 1)[0] ?? '')).toBe(first.path);
      }),
      { numRuns: 2_000 },
    );
  });
});
