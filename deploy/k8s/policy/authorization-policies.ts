import { stringify } from 'yaml';
import { GRPC_PORT, HTTP_PORT, NAME_LABEL } from '../platform-ports.ts';
import type { CallPolicy } from './policy-schema.ts';

interface Operation {
  ports: string[];
  methods?: string[];
  paths?: string[];
}

interface Rule {
  from?: { source: { principals: string[] } }[];
  to: { operation: Operation }[];
}

export interface AuthorizationPolicyObject {
  apiVersion: 'security.istio.io/v1';
  kind: 'AuthorizationPolicy';
  metadata: { name: string; labels: Record<string, string> };
  spec: { selector?: { matchLabels: Record<string, string> }; action?: 'ALLOW'; rules?: Rule[] };
}

const labels = {
  'app.kubernetes.io/part-of': 'mercato',
  'app.kubernetes.io/managed-by': 'generate-authorization',
};

/**
 * Istio's principal for an identity: the SPIFFE id without `spiffe://`. The mesh's trust domain must
 * be the policy's (meshConfig.trustDomain, or listed in meshConfig.trustDomainAliases).
 */
const principalOf = (policy: CallPolicy, identity: string) =>
  `${policy.trustDomain}/ns/${policy.namespace}/sa/${identity}`;

const from = (policy: CallPolicy, callers: readonly string[]) => [
  { source: { principals: [...callers].sort().map((caller) => principalOf(policy, caller)) } },
];

/** The rules of one called service: one per gRPC method or HTTP route, from its callers only. */
function rulesOf(policy: CallPolicy, service: string): Rule[] {
  const rules: Rule[] = [];
  if (policy.public.includes(service)) rules.push({ to: [{ operation: { ports: [String(HTTP_PORT)] } }] });
  const called = policy.services[service] ?? {};
  for (const [method, callers] of Object.entries(called.grpc ?? {}))
    rules.push({
      from: from(policy, callers),
      // gRPC is an HTTP/2 POST to /<package>.<Service>/<Method>.
      to: [{ operation: { ports: [String(GRPC_PORT)], methods: ['POST'], paths: [`/${method}`] } }],
    });
  for (const [route, callers] of Object.entries(called.http ?? {})) {
    const [method = 'GET', path = '/'] = route.split(' ');
    rules.push({
      from: from(policy, callers),
      to: [{ operation: { ports: [String(HTTP_PORT)], methods: [method], paths: [path] } }],
    });
  }
  return rules;
}

/**
 * The namespace's AuthorizationPolicies: `allow-nothing` (an empty spec denies every request to every
 * workload in the namespace that no ALLOW policy admits), then one ALLOW policy per identity. A service
 * nothing may call gets an ALLOW policy without rules, which admits nothing: said explicitly.
 */
export function authorizationPolicies(policy: CallPolicy): AuthorizationPolicyObject[] {
  const objects: AuthorizationPolicyObject[] = [
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'allow-nothing', labels },
      spec: {},
    },
  ];
  for (const service of policy.identities) {
    const rules = rulesOf(policy, service);
    objects.push({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: service, labels },
      spec: {
        selector: { matchLabels: { [NAME_LABEL]: service } },
        action: 'ALLOW',
        ...(rules.length > 0 ? { rules } : {}),
      },
    });
  }
  return objects;
}

const HEADER = `# Generated from deploy/policy.yaml by deploy/k8s/generate-authorization.ts: do not edit.
# Change the policy, then run: npx tsx deploy/k8s/generate-authorization.ts
`;

/** The YAML file the istio overlay lists, as the generator writes it. */
export function renderAuthorizationPolicies(policy: CallPolicy): string {
  const documents = authorizationPolicies(policy).map((object) => stringify(object, { lineWidth: 0 }));
  return `${HEADER}${documents.map((document) => `---\n${document}`).join('')}`;
}
