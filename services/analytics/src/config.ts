import {
  databaseConfigShape,
  grpcServerConfigShape,
  readModelConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const analyticsConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...readModelConfigShape,
  ...grpcServerConfigShape(),
});

export type AnalyticsConfig = z.output<typeof analyticsConfig>;
