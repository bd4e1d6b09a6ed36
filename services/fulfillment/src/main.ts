import { runService } from '@mercato/chassis';
import { fulfillmentDefinition } from './fulfillment.service.ts';

// Not awaited at the top level: a built service is a CommonJS bundle (see apps/cli/src/build).
void runService(fulfillmentDefinition);
