import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import { z } from 'zod';

export const catalogConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  PORT: env.port(4001),
  ...grpcServerConfigShape(5001),
  CATALOG_SEED_DEMO: env.bool(true),
});

export type CatalogConfig = z.output<typeof catalogConfig>;
