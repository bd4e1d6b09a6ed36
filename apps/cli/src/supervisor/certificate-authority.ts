// tsyringe, under @peculiar/x509, needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const CA_LIFETIME_MS = 365 * 24 * 3600_000;
/** A certificate is valid from a minute before it is made: clocks of two processes may differ a little. */
const BACKDATE_MS = 60_000;

/** A certificate and its private key, PEM. */
export interface IssuedCertificate {
  cert: string;
  key: string;
  notAfter: Date;
}

export interface IssueOptions {
  /** The SPIFFE id the certificate proves (its one URI SAN). */
  spiffeId: string;
  /** How long from now it is valid. */
  ttlMs: number;
  /** When it became valid (default: a minute ago); with a past `notAfter` it makes an expired one. */
  notBefore?: Date;
  notAfter?: Date;
}

/**
 * The platform's own certificate authority for one data directory (embedded mode): a P-256 key and a
 * self-signed CA certificate kept in `<dataDir>/tls/` (the key readable by its owner only, 0600;
 * it never leaves the folder), which signs each workload's short-lived certificate. Made on first
 * use and again once it expires.
 *
 * Written here rather than taken from a CA server (step-ca, SPIRE): the platform needs one signing
 * call per instance start and renewal, which @peculiar/x509 makes in a few milliseconds in process.
 */
export class CertificateAuthority {
  readonly certificatePem: string;
  readonly #certificate: x509.X509Certificate;
  readonly #key: CryptoKey;

  private constructor(certificate: x509.X509Certificate, key: CryptoKey) {
    this.#certificate = certificate;
    this.#key = key;
    this.certificatePem = certificate.toString('pem');
  }

  /** The CA of `folder` (`<dataDir>/tls`), made there when missing, unreadable or expiring within a day. */
  static async open(folder: string): Promise<CertificateAuthority> {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    await chmod(folder, 0o700);
    const keyFile = path.join(folder, 'ca.key');
    const certFile = path.join(folder, 'ca.crt');
    try {
      const certificate = new x509.X509Certificate(await readFile(certFile, 'utf8'));
      if (certificate.notAfter.getTime() - Date.now() > 24 * 3600_000) {
        const der = createPrivateKey(await readFile(keyFile, 'utf8')).export({
          format: 'der',
          type: 'pkcs8',
        });
        const key = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
        return new CertificateAuthority(certificate, key);
      }
    } catch {
      // None yet, or not readable: a new one below.
    }
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const now = Date.now();
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      // A name of its own: another data directory's CA is then an unknown CA, not a namesake.
      name: `CN=Mercato embedded CA ${randomBytes(6).toString('hex')}`,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_LIFETIME_MS),
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    await writePrivate(keyFile, await pemKey(keys.privateKey));
    await writeAtomically(certFile, certificate.toString('pem'), 0o644);
    return new CertificateAuthority(certificate, keys.privateKey);
  }

  /** A new key and a certificate for it, signed by this CA, for client and server use. */
  async issue(options: IssueOptions): Promise<IssuedCertificate> {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
    const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
    const notAfter = options.notAfter ?? new Date(Date.now() + options.ttlMs);
    const certificate = await x509.X509CertificateGenerator.create({
      subject: `CN=${options.spiffeId.slice(options.spiffeId.lastIndexOf('/') + 1)}`,
      issuer: this.#certificate.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: this.#key,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: options.spiffeId }], true),
      ],
    });
    return { cert: certificate.toString('pem'), key: await pemKey(keys.privateKey), notAfter };
  }
}

async function pemKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

/** Written beside, then renamed over: a reader sees the old file or the new one, never half. */
export async function writeAtomically(file: string, content: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode);
  await rename(temporary, file);
}

export const writePrivate = (file: string, content: string): Promise<void> =>
  writeAtomically(file, content, 0o600);
