/**
 * Writes the Istio AuthorizationPolicies of the istio overlay from deploy/policy.yaml:
 *   npx tsx deploy/k8s/generate-authorization.ts
 * The file is checked in; the manifests test fails while it differs from what this would write.
 */
import { writeFile } from 'node:fs/promises';
import { renderAuthorizationPolicies } from './policy/authorization-policies.ts';
import { authorizationFile, policyFile } from './policy/policy-files.ts';
import { loadCallPolicy } from './policy/policy-schema.ts';

const policy = await loadCallPolicy(policyFile);
await writeFile(authorizationFile, renderAuthorizationPolicies(policy));
process.stdout.write(`wrote ${authorizationFile}\n`);
