import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Logger } from '../logging/create-logger.ts';
import { type Followed, followFiles, readNamedFile } from './followed-files.ts';
import { type SpiffeId, spiffeIdOfCertificate } from './spiffe-id.ts';

/** Where a workload's certificate, its key and the CA it trusts are (PEM files). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** One consistent set: a certificate, its own key and the CA that signed it. */
export interface TlsMaterial {
  cert: string;
  key: string;
  ca: string;
  /** Who the certificate says this workload is. */
  identity: SpiffeId;
  notAfter: Date;
}

/**
 * This workload's certificate, followed as it is renewed: whoever issues it (the supervisor in
 * embedded mode) writes new files next to the old and renames them into place, and every later
 * handshake uses the new ones, with no restart. A set that does not hang together (a key of another
 * certificate, half the files renamed) is not taken; the one in use stays until a whole set is there.
 */
export type WorkloadTls = Followed<TlsMaterial>;

/** Reads and checks one set; throws an Error naming the file and what is wrong with it. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = readNamedFile(files.certFile, 'TLS_CERT_FILE');
  const key = readNamedFile(files.keyFile, 'TLS_KEY_FILE');
  const ca = readNamedFile(files.caFile, 'TLS_CA_FILE');
  let certificate: X509Certificate;
  let authority: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
    authority = new X509Certificate(ca);
  } catch {
    throw new Error(`${files.certFile} or ${files.caFile} is not a PEM certificate`);
  }
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`${files.keyFile} is not a PEM private key`);
  }
  if (!matches) throw new Error(`${files.keyFile} is not the key of ${files.certFile}`);
  if (!certificate.verify(authority.publicKey))
    throw new Error(`${files.certFile} is not signed by the CA in ${files.caFile}`);
  const identity = spiffeIdOfCertificate(certificate.subjectAltName);
  if (!identity) throw new Error(`${files.certFile} carries no single spiffe:// URI SAN`);
  return { cert, key, ca, identity, notAfter: new Date(certificate.validTo) };
}

/** The workload's TLS, read now (a bad set is a ConfigError) and followed as its files change. */
export function loadWorkloadTls(files: TlsFiles, logger: Logger): WorkloadTls {
  return followFiles({
    files: [files.certFile, files.keyFile, files.caFile],
    read: () => readTlsMaterial(files),
    same: (a, b) => a.cert === b.cert && a.key === b.key && a.ca === b.ca,
    describe: (material) => ({ identity: material.identity.id, not_after: material.notAfter.toISOString() }),
    logger,
  });
}
