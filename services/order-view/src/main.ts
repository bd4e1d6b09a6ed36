import { runService } from '@mercato/chassis';
import { orderViewDefinition } from './order-view.service.ts';

// Not awaited at the top level: a built service is a CommonJS bundle (see apps/cli/src/build).
void runService(orderViewDefinition);
