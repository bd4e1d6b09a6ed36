import { runService } from '@mercato/chassis';
import { identityDefinition } from './identity.service.ts';

await runService(identityDefinition);
