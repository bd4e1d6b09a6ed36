import type { ServiceSpec } from './services.ts';

/** The most instances of one service the supervisor starts. */
export const MAX_REPLICAS = 8;

/**
 * `catalog=3,order=2` (MERCATO_REPLICAS, or `--replicas`): how many instances of each service to
 * run; services not named run once. Only services that serve gRPC can have several: their callers
 * balance over the instances. The gateway is the edge (one port) and the simulators are the outside
 * world. Throws an Error whose message names the mistake.
 */
export function parseReplicas(text: string, specs: readonly ServiceSpec[]): Map<string, number> {
  const replicas = new Map<string, number>();
  const scalable = specs.filter((spec) => spec.grpc).map((spec) => spec.name);
  for (const part of text.split(',').map((item) => item.trim())) {
    if (part === '') continue;
    const match = /^([a-z][a-z-]*)=(\d{1,3})$/.exec(part);
    if (!match) throw new Error(`replicas: expected service=count (e.g. catalog=3), got "${part}"`);
    const [, name = '', countText = ''] = match;
    if (!specs.some((spec) => spec.name === name))
      throw new Error(
        `replicas: ${name} is not a service (${scalable.join(', ')} can run several instances)`,
      );
    if (!scalable.includes(name))
      throw new Error(`replicas: ${name} runs once (only ${scalable.join(', ')} can run several instances)`);
    const count = Number(countText);
    if (count < 1 || count > MAX_REPLICAS)
      throw new Error(`replicas: ${name}=${count} is out of range (1 to ${MAX_REPLICAS})`);
    if (replicas.has(name)) throw new Error(`replicas: ${name} is named twice`);
    replicas.set(name, count);
  }
  return replicas;
}

/** The process names of a service's instances: `catalog`, then `catalog-2`, `catalog-3`… */
export const instanceNames = (service: string, count: number): string[] =>
  Array.from({ length: count }, (_, index) => (index === 0 ? service : `${service}-${index + 1}`));
