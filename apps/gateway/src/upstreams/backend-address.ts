import { AppError, currentRequestContext, type Discovery, weightedPick } from '@mercato/chassis';
import type { Backend } from '../routing/route-table.ts';

/**
 * Where to send an HTTP request for a backend of the routing table: its fixed address, or a ready
 * instance of the service it names, picked by the registry's weights (a canary's share; the
 * canary itself for a tester's `x-mercato-canary: always`). A service with no instance is a 503
 * naming it.
 */
export function backendAddresses(discovery: Discovery): (backend: Backend) => string {
  const pickers = new Map<string, (preferCanary?: boolean) => string | undefined>();
  return (backend) => {
    if (backend.url !== undefined) return backend.url;
    const service = backend.service ?? backend.name;
    let pick = pickers.get(service);
    if (!pick) {
      pick = weightedPick(discovery.endpoints(service, 'http'));
      pickers.set(service, pick);
    }
    const address = pick(currentRequestContext()?.canary === true);
    if (address === undefined)
      throw new AppError({
        code: `${backend.name.toUpperCase()}.UNAVAILABLE`,
        kind: 'unavailable',
        message: `no instance of ${service} is available`,
      });
    return address;
  };
}

export type BackendAddresses = ReturnType<typeof backendAddresses>;
