import {
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type ConnectRouter, createContextValues, type Interceptor } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { peerIdentityKey } from '../authorization/call-authorizer.ts';
import type { Logger } from '../logging/create-logger.ts';
import { type SpiffeId, spiffeIdOfCertificate } from '../tls/spiffe-id.ts';
import { followRenewals, mutualTlsServerOptions } from '../tls/workload-https.ts';
import type { WorkloadTls } from '../tls/workload-tls.ts';
import { faultInterceptor, type InjectedFaults } from './fault-interceptor.ts';
import { GRPC_MAX_MESSAGE_BYTES } from './grpc-limits.ts';
import type { RpcMetrics } from './rpc-metrics.ts';
import { serverInterceptor } from './server-interceptor.ts';

export type GrpcRoutes = (router: ConnectRouter) => void;

export interface GrpcServer {
  /**
   * Listens on host:port and returns `http://host:port` (cleartext HTTP/2), or `https://host:port`
   * with mutual TLS.
   */
  listen: (host: string, port: number) => Promise<string>;
  /** Stops accepting, lets open calls finish up to `drainMs`, then cuts what is left. */
  close: (drainMs: number) => Promise<void>;
  server: Http2Server | Http2SecureServer;
}

export interface GrpcServerSecurity {
  /**
   * Serve over mutual TLS with this workload's certificate: a client must present one from the same
   * CA, unexpired, or its handshake is refused; a renewed certificate is used from the next handshake.
   */
  tls: WorkloadTls;
  /** Runs on every call after the identity is known (call authorization). */
  authorize?: Interceptor;
}

/**
 * Serves the gRPC protocol (and Connect and gRPC-web, which come free with the adapter) over
 * cleartext HTTP/2, so any gRPC client can call it with prior knowledge; or, given `security`, over
 * mutual TLS, each call carrying the identity its caller's certificate proves (`peerIdentityKey`).
 */
export function createGrpcServer(
  routes: GrpcRoutes,
  logger: Logger,
  metrics: RpcMetrics,
  faults?: InjectedFaults,
  security?: GrpcServerSecurity,
): GrpcServer {
  const injected =
    faults && (faults.errorPercent > 0 || faults.latencyMs > 0) ? [faultInterceptor(faults)] : [];
  // The caller's identity, read from its certificate once per connection.
  const identities = new WeakMap<object, SpiffeId | undefined>();
  const peerOf = (request: Http2ServerRequest): SpiffeId | undefined => {
    const session = request.stream.session;
    if (!session) return undefined;
    if (!identities.has(session)) {
      const socket = session.socket as TLSSocket;
      identities.set(session, spiffeIdOfCertificate(socket.getPeerCertificate?.()?.subjectaltname));
    }
    return identities.get(session);
  };
  const handler = connectNodeAdapter({
    routes,
    readMaxBytes: GRPC_MAX_MESSAGE_BYTES,
    interceptors: [
      serverInterceptor(logger, metrics),
      ...(security?.authorize ? [security.authorize] : []),
      ...injected,
    ],
    ...(security
      ? {
          contextValues: (request) =>
            createContextValues().set(peerIdentityKey, peerOf(request as Http2ServerRequest)),
        }
      : {}),
  });
  const server = security ? secureServer(security.tls, handler) : createServer(handler);
  if (security)
    server.on('tlsClientError', (error: NodeJS.ErrnoException) =>
      metrics.tlsRefused.inc({ reason: error.code ?? 'unknown' }),
    );
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
          const scheme = security ? 'https' : 'http';
          resolve(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
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

/** HTTP/2 over TLS 1.3 that asks every client for a certificate from the workload's CA. */
function secureServer(tls: WorkloadTls, handler: ReturnType<typeof connectNodeAdapter>): Http2SecureServer {
  const server = createSecureServer(mutualTlsServerOptions(tls), handler);
  followRenewals(server, tls);
  return server;
}
