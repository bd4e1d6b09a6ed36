import { type ServiceSpec, serviceCatalog } from '../../../apps/cli/src/services.ts';
import { reachedByAddress } from '../../../apps/cli/src/supervisor/releases/platform-releases.ts';

/**
 * What the manifests must deploy, from the supervisor's own catalogue (apps/cli/src/services.ts):
 * the services and the gateway, not the simulators of the outside world.
 */
export const deployedServices: readonly ServiceSpec[] = serviceCatalog.filter(
  (spec) => spec.directory.startsWith('services/') || spec.name === 'gateway',
);

/** The services a canary release moves (the supervisor's rule: all but what is reached by address). */
export const releasedServices: readonly string[] = (() => {
  const fixed = reachedByAddress(serviceCatalog);
  return deployedServices.filter((spec) => !fixed.has(spec.name)).map((spec) => spec.name);
})();
