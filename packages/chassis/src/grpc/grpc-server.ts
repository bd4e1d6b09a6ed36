import { createServer, type Http2Server, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from '../logging/create-logger.ts';
import { faultInterceptor, type InjectedFaults } from './fault-interceptor.ts';
import type { RpcMetrics } from './rpc-metrics.ts';
import { serverInterceptor } from './server-interceptor.ts';

export type GrpcRoutes = (router: ConnectRouter) => void;

export interface GrpcServer {
  /** Listens on host:port (cleartext HTTP/2) and returns `http://host:port`. */
  listen: (host: string, port: number) => Promise<string>;
  /** Stops accepting, lets open calls finish up to `drainMs`, then cuts what is left. */
  close: (drainMs: number) => Promise<void>;
  server: Http2Server;
}

/**
 * Serves the gRPC protocol (and Connect and gRPC-web, which come free with the adapter) over
 * cleartext HTTP/2, so any gRPC client can call it with prior knowledge.
 */
export function createGrpcServer(
  routes: GrpcRoutes,
  logger: Logger,
  metrics: RpcMetrics,
  faults?: InjectedFaults,
): GrpcServer {
  const injected =
    faults && (faults.errorPercent > 0 || faults.latencyMs > 0) ? [faultInterceptor(faults)] : [];
  const handler = connectNodeAdapter({
    routes,
    interceptors: [serverInterceptor(logger, metrics), ...injected],
  });
  const server = createServer(handler);
  const sessions = new Set<ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });

  return {
    server,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
        });
      }),
    close: async (drainMs) => {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: clients stop opening streams here; open streams may finish.
      for (const session of sessions) session.close();
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, drainMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
