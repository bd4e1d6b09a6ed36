import { fileURLToPath } from 'node:url';

/** The call policy, and the Istio AuthorizationPolicies generated from it into the istio overlay. */
export const policyFile = fileURLToPath(new URL('../../policy.yaml', import.meta.url));
export const authorizationFile = fileURLToPath(
  new URL('../overlays/istio/authorization-policies.yaml', import.meta.url),
);
