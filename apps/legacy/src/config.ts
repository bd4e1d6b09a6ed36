import { databaseConfigShape, serviceConfigShape } from '@mercato/chassis';
import * as z from 'zod';

/** The monolith needs nothing beyond a port and its one database. */
export const legacyConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
});

export type LegacyConfig = z.output<typeof legacyConfig>;
