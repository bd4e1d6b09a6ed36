import {
  databaseConfigShape,
  grpcServerConfigShape,
  readModelConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

export const orderViewConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...readModelConfigShape,
  ...grpcServerConfigShape(),
});

export type OrderViewConfig = z.output<typeof orderViewConfig>;
