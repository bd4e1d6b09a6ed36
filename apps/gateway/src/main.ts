import { runService } from '@mercato/chassis';
import { gatewayDefinition } from './gateway.service.ts';

await runService(gatewayDefinition);
