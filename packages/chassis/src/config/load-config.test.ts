import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { databaseConfigShape, env, serviceConfigShape } from './env-schema.ts';
import { ConfigError, loadConfig } from './load-config.ts';

const schema = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  PORT: env.port(4001),
  SEED: env.bool(true),
});
const valid = { DATABASE_URL: 'postgres://svc:secret@127.0.0.1:5432/svc' };

const problemsOf = (source: Record<string, string>): string[] => {
  try {
    loadConfig(schema, source);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('loadConfig', () => {
  it('applies defaults and converts types', () => {
    const config = loadConfig(schema, valid);
    expect(config).toMatchObject({
      PORT: 4001,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      SEED: true,
      DATABASE_POOL_MAX: 10,
    });
  });

  it('reads explicit values', () => {
    const config = loadConfig(schema, { ...valid, PORT: '8081', SEED: 'false', LOG_LEVEL: 'debug' });
    expect(config).toMatchObject({ PORT: 8081, SEED: false, LOG_LEVEL: 'debug' });
  });

  it.each([
    ['abc', 'PORT: expected an integer from 0 to 65535 (got "abc")'],
    ['70000', 'PORT: expected an integer from 0 to 65535 (got "70000")'],
    ['8.5', 'PORT: expected an integer from 0 to 65535 (got "8.5")'],
    ['', 'PORT: expected an integer from 0 to 65535 (got "")'],
  ])('names PORT and what it expected for %j', (port, message) => {
    expect(problemsOf({ ...valid, PORT: port })).toEqual([message]);
  });

  it('reports a missing variable as not set', () => {
    expect(problemsOf({})).toEqual([
      'DATABASE_URL: required (expected a postgres or postgresql URL) (it is not set)',
    ]);
  });

  it('reports every bad variable on one line', () => {
    try {
      loadConfig(schema, { ...valid, PORT: 'x', SEED: 'maybe' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).not.toContain('\n');
      expect(message).toMatch(
        /^invalid configuration: PORT: .*; SEED: expected true or false \(got "maybe"\)$/,
      );
    }
  });

  it('never echoes a password from a URL', () => {
    const [problem] = problemsOf({ DATABASE_URL: 'mysql://svc:hunter2@db/svc' });
    expect(problem).toContain('svc:***@db');
    expect(problem).not.toContain('hunter2');
  });
});
