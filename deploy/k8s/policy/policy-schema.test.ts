import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repositoryRoot } from '../validation/kubectl.ts';
import { parseRendered } from '../validation/rendered-object.ts';
import { schemaProblems } from '../validation/strict-schema-validation.ts';
import { authorizationPolicies, renderAuthorizationPolicies } from './authorization-policies.ts';
import { authorizationFile, policyFile } from './policy-files.ts';
import { callPolicySchema, describePolicyIssues, loadCallPolicy } from './policy-schema.ts';

type PolicyDocument = Record<string, unknown> & {
  services: Record<string, Record<string, Record<string, string[]>>>;
};

/** `mercato.order.v1.OrderService/GetOrder` for every rpc in packages/contracts/proto. */
async function contractMethods(): Promise<Set<string>> {
  const methods = new Set<string>();
  const root = path.join(repositoryRoot, 'packages', 'contracts', 'proto');
  for (const file of await readdir(root, { recursive: true })) {
    if (!file.endsWith('.proto')) continue;
    const text = await readFile(path.join(root, file), 'utf8');
    const packageName = /^package ([\w.]+);/m.exec(text)?.[1];
    for (const block of text.matchAll(/^service (\w+) \{([\s\S]*?)^\}/gm))
      for (const rpc of (block[2] ?? '').matchAll(/^\s*rpc (\w+)\(/gm)) {
        methods.add(`${packageName}.${block[1]}/${rpc[1]}`);
        methods.add(`${packageName}.${block[1]}/*`);
      }
  }
  return methods;
}

const policyText = () => readFile(policyFile, 'utf8');

describe('deploy/policy.yaml', () => {
  it('names only gRPC methods the contracts define', async () => {
    const policy = await loadCallPolicy(policyFile);
    const known = await contractMethods();
    const named = Object.values(policy.services).flatMap((rules) => Object.keys(rules.grpc ?? {}));
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((method) => !known.has(method))).toEqual([]);
  });

  it('lets a caller act without a user only on a method it may call', async () => {
    const policy = parse(await policyText()) as PolicyDocument;
    const order = policy.services.order ?? {};
    order.withoutUser = { 'mercato.order.v1.OrderService/CancelOrder': ['notification'] };
    const result = callPolicySchema.safeParse(policy);
    expect(result.error && describePolicyIssues(result.error)).toEqual([
      'services.order.withoutUser.mercato.order.v1.OrderService/CancelOrder.0: notification may act without a user on mercato.order.v1.OrderService/CancelOrder only if it may call it (list it under grpc)',
    ]);
  });

  it('refuses a misspelt key or a malformed route, naming where', async () => {
    const policy = parse(await policyText()) as PolicyDocument;
    policy.trustDomian = 'mercato.local';
    policy.services.order = { grpc: { 'mercato.order.v1.OrderService/GetOrder': ['gateway'] }, htp: {} };
    policy.services['order-view'] = { http: { 'GET /customers/*/orders': ['gateway'] } };
    const result = callPolicySchema.safeParse(policy);
    expect(result.error && describePolicyIssues(result.error)).toEqual(
      expect.arrayContaining([
        '(top level): Unrecognized key: "trustDomian"',
        'services.order: Unrecognized key: "htp"',
        expect.stringMatching(
          /^services\.order-view\.http\.GET \/customers\/\*\/orders: .*at most a trailing \*/,
        ),
      ]),
    );
  });

  it('refuses an unknown caller and a method of another service, naming where', async () => {
    const policy = parse(await policyText()) as PolicyDocument;
    policy.services.order = {
      grpc: { 'mercato.order.v1.OrderService/GetOrder': ['gateway', 'notifcation'] },
    };
    policy.services.pricing = { grpc: { 'mercato.order.v1.OrderService/CreateOrder': ['gateway'] } };
    const result = callPolicySchema.safeParse(policy);
    expect(result.error && describePolicyIssues(result.error)).toEqual([
      'services.pricing.grpc.mercato.order.v1.OrderService/CreateOrder: pricing serves mercato.pricing.v1.*, not mercato.order.v1.OrderService/CreateOrder',
      'services.order.grpc.mercato.order.v1.OrderService/GetOrder.1: notifcation is not one of the identities',
    ]);
  });

  it('gives every identity an entry, even one nothing may call', async () => {
    const policy = parse(await policyText()) as PolicyDocument;
    delete policy.services.payment;
    const result = callPolicySchema.safeParse(policy);
    expect(result.error?.issues.map((issue) => issue.message)).toContain(
      'payment has no entry (write "payment: {}" if nothing may call it)',
    );
  });
});

describe('the istio AuthorizationPolicies generated from the policy', () => {
  it('are checked in as the generator writes them (npx tsx deploy/k8s/generate-authorization.ts)', async () => {
    const policy = await loadCallPolicy(policyFile);
    expect(await readFile(authorizationFile, 'utf8')).toBe(renderAuthorizationPolicies(policy));
  });

  it("validate against Istio's schema and admit exactly the policy's callers", async () => {
    const policy = await loadCallPolicy(policyFile);
    const objects = parseRendered(renderAuthorizationPolicies(policy), 'authorization-policies.yaml');
    expect(objects.flatMap(schemaProblems)).toEqual([]);
    const byName = new Map(
      authorizationPolicies(policy).map((object) => [object.metadata.name, object.spec]),
    );
    expect(byName.get('allow-nothing')).toEqual({});
    // Nothing calls payment: its ALLOW policy has no rule, so it admits nothing.
    expect(byName.get('payment')?.rules).toBeUndefined();
    const getCustomer = byName
      .get('customer')
      ?.rules?.find((rule) =>
        rule.to[0]?.operation.paths?.includes('/mercato.customer.v1.CustomerService/GetCustomer'),
      );
    expect(getCustomer?.from?.[0]?.source.principals).toEqual([
      'mercato.local/ns/mercato/sa/gateway',
      'mercato.local/ns/mercato/sa/notification',
      'mercato.local/ns/mercato/sa/pricing',
    ]);
    expect(getCustomer?.to[0]?.operation).toEqual({
      ports: ['50051'],
      methods: ['POST'],
      paths: ['/mercato.customer.v1.CustomerService/GetCustomer'],
    });
  });
});
