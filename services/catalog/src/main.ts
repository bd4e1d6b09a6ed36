import { runService } from '@mercato/chassis';
import { catalogDefinition } from './catalog.service.ts';

await runService(catalogDefinition);
