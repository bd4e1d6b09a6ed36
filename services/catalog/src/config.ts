import { databaseConfigShape, env, messagingConfigShape, serviceConfigShape } from '@mercato/chassis';
import { z } from 'zod';

export const catalogConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  PORT: env.port(4001),
  CATALOG_SEED_DEMO: env.bool(true),
});

export type CatalogConfig = z.output<typeof catalogConfig>;
