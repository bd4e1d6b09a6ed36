import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { Logger } from '../logging/create-logger.ts';
import { type Followed, followFiles, readNamedFile } from './followed-files.ts';

/** A public port's certificate and key (PEM files), and the settings that named them. */
export interface ServerCertificateFiles {
  certFile: string;
  keyFile: string;
  /** The variables that named the files, for error messages: `GATEWAY_TLS_CERT_FILE`… */
  names: { cert: string; key: string };
}

export interface ServerCertificate {
  cert: string;
  key: string;
  notAfter: Date;
}

/** Reads a certificate and its key; throws an Error naming the setting, the file and what is wrong. */
export function readServerCertificate(files: ServerCertificateFiles): ServerCertificate {
  const cert = readNamedFile(files.certFile, files.names.cert);
  const key = readNamedFile(files.keyFile, files.names.key);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new Error(`${files.names.cert} ${files.certFile} is not a PEM certificate`);
  }
  let matches = false;
  try {
    matches = certificate.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new Error(`${files.names.key} ${files.keyFile} is not a PEM private key`);
  }
  if (!matches) throw new Error(`${files.names.key} ${files.keyFile} is not the key of ${files.certFile}`);
  return { cert, key, notAfter: new Date(certificate.validTo) };
}

/**
 * A public port's certificate (the edge's, from a CA of the operator's choosing), read now (a bad
 * one is a ConfigError) and followed as the files are replaced (certbot, cert-manager), with no
 * restart.
 */
export function loadServerCertificate(
  files: ServerCertificateFiles,
  logger: Logger,
): Followed<ServerCertificate> {
  return followFiles({
    files: [files.certFile, files.keyFile],
    read: () => readServerCertificate(files),
    same: (a, b) => a.cert === b.cert && a.key === b.key,
    describe: (certificate) => ({ file: files.certFile, not_after: certificate.notAfter.toISOString() }),
    logger,
  });
}
