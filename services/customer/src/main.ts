import { runService } from '@mercato/chassis';
import { customerDefinition } from './customer.service.ts';

await runService(customerDefinition);
