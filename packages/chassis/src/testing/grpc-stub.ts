import { createGrpcServer, type GrpcRoutes, type GrpcServer } from '../grpc/grpc-server.ts';
import { createLogger } from '../logging/create-logger.ts';
import { createServiceMetrics } from '../metrics/service-metrics.ts';

/** A stand-in upstream: `routes` served over gRPC on an ephemeral port, silently. */
export async function startGrpcStub(routes: GrpcRoutes): Promise<{ server: GrpcServer; url: string }> {
  const server = createGrpcServer(
    routes,
    createLogger({ service: 'stub', level: 'silent' }),
    createServiceMetrics('stub').rpc,
  );
  return { server, url: await server.listen('127.0.0.1', 0) };
}
