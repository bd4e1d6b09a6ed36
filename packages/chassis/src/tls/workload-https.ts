import { X509Certificate } from 'node:crypto';
import type { ServerOptions } from 'node:https';
import { createRequire } from 'node:module';
import {
  checkServerIdentity,
  createSecureContext,
  type PeerCertificate,
  rootCertificates,
  type SecureContext,
  type Server as TlsServer,
} from 'node:tls';
import type { buildConnector } from 'undici';
import type { Followed } from './followed-files.ts';
import { spiffeIdOfCertificate } from './spiffe-id.ts';
import type { TlsMaterial, WorkloadTls } from './workload-tls.ts';

/**
 * A service's HTTP port inside the mesh: TLS 1.3, and a client certificate from the workload CA or
 * no handshake (health, metrics, the read models' APIs and `/admin/*` alike). The server takes the
 * renewed certificate for its next handshakes; open connections keep theirs.
 */
export function mutualTlsServerOptions(tls: WorkloadTls): ServerOptions {
  const { cert, key, ca } = tls.current();
  return { cert, key, ca, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' };
}

/**
 * Gives a TLS server (HTTPS or HTTP/2) each renewed certificate for its next handshakes: a
 * workload's (with its CA) or a public port's.
 */
export function followRenewals(
  server: Pick<TlsServer, 'setSecureContext'>,
  certificate: Followed<{ cert: string; key: string; ca?: string }>,
): void {
  certificate.onRenewed(({ cert, key, ca }) => server.setSecureContext({ cert, key, ...(ca ? { ca } : {}) }));
}

export interface HttpsClientSettings {
  /** The workload's certificate, presented to every HTTPS server that asks for one. */
  workload?: WorkloadTls;
  /**
   * A server known by its own certificate rather than by a name: the PEM it must present at
   * `host:port` (read at each new connection, so a renewed one is followed), or undefined for any
   * other address. The supervisor knows the gateway's public certificate this way: it reaches the
   * edge at a loopback address the certificate does not name.
   */
  pinned?: (host: string, port: string) => string | undefined;
}

/**
 * Every HTTPS connection this process opens from now on (fetch, undici's `request`, jose's key
 * fetches, the chassis's `JsonHttpClient`) presents the workload's certificate, the current one,
 * and trusts the workload CA beside the public roots. A peer whose certificate carries a SPIFFE id
 * of the workload's own trust domain is a workload of the platform (its certificate names no host:
 * instances are found by address); a pinned address must present exactly its certificate; any
 * other server is checked by host name as usual, so an HTTPS call to the outside world still works.
 * Plain HTTP is untouched.
 *
 * Process-wide on purpose: a workload has one identity, and each call site (the gateway's reads,
 * its proxy, token verification, the supervisor's probes and scrapes) then needs no TLS of its own.
 */
export function configureHttpsClient(settings: HttpsClientSettings): void {
  const { workload, pinned } = settings;
  const { Agent, buildConnector, setGlobalDispatcher } = undici();
  // One secure context per certificate in use (and per pinned one), made once: Node would otherwise
  // build one for every connection, and loading the public roots into it costs tens of milliseconds
  // of CPU each time (a profile of the supervisor's probes showed most of its time there). Each
  // connector also keeps its TLS sessions for resumption; both are made again only when the
  // workload's certificate changes.
  const secureContext = (material: TlsMaterial | undefined, trusted: readonly string[]) =>
    createSecureContext({
      ...(material ? { cert: material.cert, key: material.key } : {}),
      ca: [...rootCertificates, ...trusted],
    });
  const platform = (material: TlsMaterial | undefined): ConnectionTls => {
    const trustDomain = material?.identity.trustDomain;
    return {
      secureContext: secureContext(material, material ? [material.ca] : []),
      checkServerIdentity: (host: string, certificate: PeerCertificate) => {
        const peer = spiffeIdOfCertificate(certificate.subjectaltname);
        if (trustDomain !== undefined && peer?.trustDomain === trustDomain) return undefined;
        return checkServerIdentity(host, certificate);
      },
    };
  };
  const pinnedTo = (material: TlsMaterial | undefined, pem: string): ConnectionTls => {
    const expected = new X509Certificate(pem).fingerprint256;
    return {
      secureContext: secureContext(material, [pem]),
      checkServerIdentity: (_host: string, certificate: PeerCertificate) =>
        certificate.fingerprint256 === expected
          ? undefined
          : new Error(`the server did not present the certificate pinned for it (${expected})`),
    };
  };
  /** Per certificate in use: the TLS a new connection gets, and undici's connector for it once asked. */
  type Made = { material: TlsMaterial | undefined; tls: ConnectionTls; connect?: buildConnector.connector };
  const made = new Map<string, Made>();
  const madeFor = (host: string, port: string): Made => {
    const pem = pinned?.(host, port);
    const material = workload?.current();
    const key = pem ?? '';
    const known = made.get(key);
    if (known && known.material === material) return known;
    const tls = pem === undefined ? platform(material) : pinnedTo(material, pem);
    if (made.size > 16) made.clear();
    const entry: Made = { material, tls };
    made.set(key, entry);
    return entry;
  };
  connectionTls = (host, port) => madeFor(host, port).tls;
  setGlobalDispatcher(
    new Agent({
      connect: (options, callback) => {
        const entry = madeFor(options.hostname, String(options.port));
        entry.connect ??= buildConnector(entry.tls);
        entry.connect(options, callback);
      },
    }),
  );
}

/** What a new HTTPS connection to a server presents and checks: a secure context and the peer check. */
export interface ConnectionTls {
  secureContext: SecureContext;
  checkServerIdentity: (host: string, certificate: PeerCertificate) => Error | undefined;
}

let connectionTls: ((host: string, port: string) => ConnectionTls) | undefined;

/**
 * The TLS options `configureHttpsClient` chose for a new connection to `host:port`, for a client
 * that opens its own (the chassis's `JsonHttpClient` over `node:https`), or undefined when nothing
 * was configured and Node's defaults apply. The same context and check undici's connections get.
 */
export const httpsConnectionTls = (host: string, port: string): ConnectionTls | undefined =>
  connectionTls?.(host, port);

/**
 * npm's undici, loaded only here, when a process has a certificate to present: a service's bundle
 * leaves it out (a `require` esbuild does not follow), since nothing else in most services uses it
 * and its 750 KB of source stayed in every process's heap (bench/README.md). Node's own `fetch`
 * takes the dispatcher set here: both find it under the same global symbol.
 */
const undici = (): typeof import('undici') =>
  createRequire(import.meta.url)('undici') as typeof import('undici');

/** `configureHttpsClient` for a workload: its certificate presented, its trust domain's peers taken. */
export const presentWorkloadCertificate = (tls: WorkloadTls): void => configureHttpsClient({ workload: tls });
