import { idOf, type RenderedObject } from './rendered-object.ts';
import { serviceConfigSchemas, variablesReadOutsideSchemas } from './service-config-schemas.ts';
import { type Container, configMapShape, type Workload } from './workload-shapes.ts';

/**
 * Stand-ins for what only the cluster knows: Secrets written by the CloudNativePG operator or by the
 * person deploying (docs/kubernetes.md), and the pod's own name. Shaped as the real values are.
 */
export function standInSecret(name: string, key: string): string | undefined {
  const database = /^(.+)-app$/.exec(name);
  if (database && key === 'uri')
    return `postgresql://app:stand-in-password@${database[1]}-rw.mercato:5432/app`;
  if (name === 'mercato-admin' && key === 'token') return 'stand-in-admin-token-0123456789abcdef';
  if (name === 'gateway-api-keys' && key === 'keys') return 'partner:stand-in-api-key-0123456789abcdef';
  return undefined;
}
const standInField = (workload: string, fieldPath: string): string | undefined =>
  fieldPath === 'metadata.name' ? `${workload}-6d9f7c5b8d-x2x9q` : undefined;

export interface ResolvedEnvironment {
  variables: Record<string, string>;
  problems: string[];
}

/** A container's environment as the kubelet would assemble it from the rendered objects. */
export function resolveEnvironment(
  owner: string,
  workloadName: string,
  container: Container,
  objects: readonly RenderedObject[],
): ResolvedEnvironment {
  const variables: Record<string, string> = {};
  const problems: string[] = [];
  const where = `${owner} container ${container.name}`;
  const configMap = (name: string) => {
    const found = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === name);
    return found ? configMapShape.parse(found).data : undefined;
  };
  for (const source of container.envFrom) {
    if (source.secretRef)
      problems.push(`${where}: envFrom secretRef ${source.secretRef.name}: name each secret variable`);
    if (!source.configMapRef) continue;
    const data = configMap(source.configMapRef.name);
    if (data) Object.assign(variables, data);
    else if (!source.configMapRef.optional)
      problems.push(`${where}: envFrom names ConfigMap/${source.configMapRef.name}, which is not rendered`);
  }
  const seen = new Set<string>();
  for (const variable of container.env) {
    if (seen.has(variable.name)) problems.push(`${where}: env ${variable.name} is set twice`);
    seen.add(variable.name);
    const from = variable.valueFrom;
    let value: string | undefined = variable.value;
    if (from?.configMapKeyRef) {
      value = configMap(from.configMapKeyRef.name)?.[from.configMapKeyRef.key];
      if (value === undefined && !from.configMapKeyRef.optional)
        problems.push(
          `${where}: env ${variable.name} reads ConfigMap/${from.configMapKeyRef.name} key ${from.configMapKeyRef.key}, which is not rendered`,
        );
    } else if (from?.secretKeyRef) {
      value = standInSecret(from.secretKeyRef.name, from.secretKeyRef.key);
      if (value === undefined)
        problems.push(
          `${where}: env ${variable.name} reads Secret/${from.secretKeyRef.name} key ${from.secretKeyRef.key}, which nothing here writes or documents`,
        );
    } else if (from?.fieldRef) {
      value = standInField(workloadName, from.fieldRef.fieldPath);
      if (value === undefined)
        problems.push(`${where}: env ${variable.name} reads ${from.fieldRef.fieldPath}`);
    }
    if (value !== undefined) variables[variable.name] = value;
  }
  return { variables, problems };
}

/** Variables that would hand a service another one's address: services find each other by name. */
const addressVariables = new Set(['MERCATO_PEERS', 'MERCATO_REGISTRY_URL', 'IDENTITY_URL', 'SUPERVISOR_URL']);

function addressProblems(
  where: string,
  variables: Record<string, string>,
  services: readonly string[],
): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (addressVariables.has(name)) {
      problems.push(`${where}: ${name} is set; services find each other by name (MERCATO_DISCOVERY=dns)`);
      continue;
    }
    for (const candidate of value.split(',')) {
      let host: string;
      try {
        host = new URL(candidate.trim()).hostname;
      } catch {
        continue;
      }
      const named = services.find((service) => host === service || host.startsWith(`${service}.`));
      if (named)
        problems.push(
          `${where}: ${name} holds the address of ${named} (${candidate.trim()}); services find each other by name`,
        );
    }
  }
  return problems;
}

/**
 * Every Mercato container's environment, parsed by its service's own config schema: a missing,
 * malformed or misspelt variable fails, named with the object and container it is in.
 */
export function environmentProblems(
  workload: Workload,
  objects: readonly RenderedObject[],
  services: readonly string[],
): { problems: string[]; configs: Map<string, Record<string, unknown>> } {
  const problems: string[] = [];
  const configs = new Map<string, Record<string, unknown>>();
  const owner = idOf(workload.object);
  const service =
    workload.template?.metadata.labels['app.kubernetes.io/name'] ?? workload.object.metadata.name;
  const config = serviceConfigSchemas.get(service);
  if (!config) return { problems: [`${owner}: no config schema for service ${service}`], configs };
  for (const container of workload.template?.spec.containers ?? []) {
    const where = `${owner} container ${container.name}`;
    const { variables, problems: resolving } = resolveEnvironment(
      owner,
      workload.object.metadata.name,
      container,
      objects,
    );
    problems.push(...resolving);
    for (const name of Object.keys(variables))
      if (!config.variables.has(name) && !variablesReadOutsideSchemas.has(name))
        problems.push(`${where}: ${name} is not a variable ${service} reads (its config.ts or the chassis')`);
    problems.push(...addressProblems(where, variables, services));
    const parsed = config.schema.safeParse(variables);
    if (parsed.success) configs.set(container.name, parsed.data);
    else
      for (const issue of parsed.error.issues)
        problems.push(`${where}: ${issue.path.join('.') || '(environment)'}: ${issue.message}`);
  }
  return { problems, configs };
}
