import { runService } from '@mercato/chassis';
import { inventoryDefinition } from './inventory.service.ts';

// Not awaited at the top level: a built service is a CommonJS bundle (see apps/cli/src/build).
void runService(inventoryDefinition);
