import type { Counter } from 'prom-client';
import type { Logger } from '../logging/create-logger.ts';
import type { EjectionEvent } from './instance-balancer.ts';

/**
 * What an instance balancer's ejection is reported as, for gRPC and HTTP dependencies alike: a
 * count in `rpc_client_ejections_total{dependency, reason}` and a warning naming the instance.
 */
export const reportEjections =
  (dependency: string, logger?: Logger, ejections?: Counter<'dependency' | 'reason'>) =>
  ({ address, reason, forMs }: EjectionEvent): void => {
    ejections?.inc({ dependency, reason });
    logger?.warn(
      { dependency, instance: address, reason, ejected_ms: forMs },
      `instance ${address} of ${dependency} ejected for ${forMs} ms (${reason})`,
    );
  };
