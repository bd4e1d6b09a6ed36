import { requiredGrpcClusters } from '../../src/routing/route-table.schema.ts';

/**
 * `MERCATO_PEERS` for a gateway run alone: every service it calls over gRPC at `grpc` (one test
 * double serves them all), and the read models' HTTP APIs where given.
 */
export function gatewayPeers(grpc: string, http: { 'order-view'?: string; analytics?: string } = {}): string {
  return [
    ...requiredGrpcClusters.map((name) => `${name}=${grpc}`),
    ...Object.entries(http).map(([name, url]) => `${name}/http=${url}`),
  ].join(',');
}
