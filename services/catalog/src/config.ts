import { databaseConfigShape, env, serviceConfigShape } from '@mercato/chassis';
import { z } from 'zod';

export const catalogConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  PORT: env.port(4001),
  CATALOG_SEED_DEMO: env.bool(true),
});

export type CatalogConfig = z.output<typeof catalogConfig>;
