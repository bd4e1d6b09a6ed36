import { runService } from '@mercato/chassis';
import { legacyCdcDefinition } from './legacy-cdc.service.ts';

// Not awaited at the top level: a built service is a CommonJS bundle (see apps/cli/src/build).
void runService(legacyCdcDefinition);
