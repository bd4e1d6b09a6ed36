import { AppError, type Discovery, roundRobin } from '@mercato/chassis';
import type { Backend } from '../routing/route-table.ts';

/**
 * Where to send an HTTP request for a backend of the routing table: its fixed address, or the next
 * ready instance of the service it names (round-robin over what discovery lists now). A service with
 * no instance is a 503 naming it.
 */
export function backendAddresses(discovery: Discovery): (backend: Backend) => string {
  const pickers = new Map<string, () => string | undefined>();
  return (backend) => {
    if (backend.url !== undefined) return backend.url;
    const service = backend.service ?? backend.name;
    let pick = pickers.get(service);
    if (!pick) {
      pick = roundRobin(discovery.endpoints(service, 'http'));
      pickers.set(service, pick);
    }
    const address = pick();
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
