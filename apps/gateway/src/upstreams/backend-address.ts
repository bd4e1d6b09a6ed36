import {
  AppError,
  type CallOutcome,
  currentRequestContext,
  type Discovery,
  type HttpInstances,
  httpInstances,
  type InstanceLease,
  type Logger,
  reportEjections,
} from '@mercato/chassis';
import type { Counter } from 'prom-client';
import type { Backend } from '../routing/route-table.ts';

/** An address to send one request to; end it once with how the request went. */
export type BackendLease = InstanceLease;

const fixed = (address: string): BackendLease => ({ address, end: (_outcome: CallOutcome) => undefined });

/**
 * Where to send an HTTP request for a backend of the routing table: its fixed address (what is
 * outside the shop: a legacy system), or an instance of the service it names, picked as the gRPC
 * client picks (the registry's weights, the canary for a tester's `x-mercato-canary: always`, least
 * outstanding requests) with outlier ejection: an instance that refuses connections or fails five
 * requests in a row is left out for a while (the same InstanceBalancer).
 */
export function backendAddresses(
  discovery: Discovery,
  logger?: Logger,
  ejections?: Counter<'dependency' | 'reason'>,
) {
  const services = new Map<string, HttpInstances>();
  const instancesOf = (service: string) => {
    let instances = services.get(service);
    if (!instances) {
      instances = httpInstances(
        discovery.endpoints(service, 'http'),
        reportEjections(service, logger, ejections),
      );
      services.set(service, instances);
    }
    return instances;
  };
  /** Another instance than those in `tried` (they refused this request), or undefined when none is left. */
  const next = (backend: Backend, tried: ReadonlySet<string>): BackendLease | undefined => {
    if (backend.url !== undefined) return tried.has(backend.url) ? undefined : fixed(backend.url);
    const service = backend.service ?? backend.name;
    return instancesOf(service).pick({ preferCanary: currentRequestContext()?.canary === true, tried });
  };
  return {
    next,
    /** An instance for a new request; a 503 naming the backend when there is none. */
    lease(backend: Backend): BackendLease {
      const lease = next(backend, new Set());
      if (!lease)
        throw new AppError({
          code: `${backend.name.toUpperCase()}.UNAVAILABLE`,
          kind: 'unavailable',
          message: `no instance of ${backend.service ?? backend.name} is available`,
        });
      return lease;
    },
  };
}

export type BackendAddresses = ReturnType<typeof backendAddresses>;
