import { runService } from '@mercato/chassis';
import { pricingDefinition } from './pricing.service.ts';

await runService(pricingDefinition);
