import { idOf, type RenderedObject } from './rendered-object.ts';
import { schemaModels } from './schema-models.ts';

interface Visit {
  path: string;
  value: object;
  /** Own keys the validator asked for (or absent keys it looked up). */
  read: Set<string>;
  /** It listed the keys: a map (labels) or a schema that constrains every key itself. */
  listed: boolean;
}

/**
 * Wraps an object so that each lookup the schema's validator makes is recorded, all the way down.
 * The validators (Ajv, generated from the OpenAPI schemas) read exactly the properties their schema
 * defines; a key present but never read is one the schema does not know, which the Kubernetes API
 * server would refuse under strict field validation (kubectl apply --validate=strict) but the
 * schema's own check lets through.
 */
function tracked(value: object, path: string, visits: Visit[]): object {
  const visit: Visit = { path, value, read: new Set(), listed: false };
  visits.push(visit);
  return new Proxy(value, {
    get(target, key, receiver) {
      const result: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return result;
      const own = Object.hasOwn(target, key);
      if (own || !(key in target)) visit.read.add(key);
      return own && typeof result === 'object' && result !== null
        ? tracked(result, `${path}/${key}`, visits)
        : result;
    },
    has(target, key) {
      if (typeof key === 'string') visit.read.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      if (typeof key === 'string') visit.read.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      visit.listed = true;
      return Reflect.ownKeys(target);
    },
  });
}

/**
 * Validates one rendered object against its kind's schema (kubernetes-models and the CRD model
 * packages), then looks for fields the schema does not know (a misspelt `livenesProbe`, `limts`).
 * Each problem names the object and the field: `Deployment/order: /spec/replicas must be integer`.
 */
export function schemaProblems(object: RenderedObject): string[] {
  const type = `${object.apiVersion}/${object.kind}`;
  const entry = schemaModels.get(type);
  if (!entry) return [`${idOf(object)}: no schema for ${type} (add one to schema-models.ts)`];
  const visits: Visit[] = [];
  const problems: string[] = [];
  // A model instance, so that validators which look up their schema on the prototype find it.
  const root = tracked(new entry.model(structuredClone(object) as never), '', visits) as { validate(): void };
  try {
    root.validate();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    for (const part of message.split(/,\s*(?=data\/|data )/))
      problems.push(`${idOf(object)}: ${part.replace(/^data/, '') || part} (${entry.source})`);
  }
  // A validator that never looked at the object checked nothing (a model whose schema did not load).
  if ((visits[0]?.read.size ?? 0) === 0)
    problems.push(`${idOf(object)}: its schema (${entry.source}) checked nothing`);
  for (const visit of visits) {
    // Never looked into: free-form by its schema (x-kubernetes-preserve-unknown-fields).
    if (visit.listed || visit.read.size === 0 || Array.isArray(visit.value)) continue;
    for (const key of Object.keys(visit.value))
      if (!visit.read.has(key))
        problems.push(`${idOf(object)}: ${visit.path}/${key} is not a field of ${type} (${entry.source})`);
  }
  return problems;
}
