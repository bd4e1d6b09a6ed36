import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { spiffeIdOf } from '@mercato/chassis/call-policy';
import type { Logger } from '@mercato/chassis/logging';
import { CertificateAuthority, writeAtomically, writePrivate } from './certificate-authority.ts';
import { tlsFolder, workloadTlsFiles } from './workload-tls-files.ts';

/** The SPIFFE id of a service's workloads in embedded mode. */
export const embeddedSpiffeId = (trustDomain: string, service: string): string =>
  spiffeIdOf({ trustDomain, namespace: 'embedded' }, service);

export interface WorkloadCertificateSettings {
  dataDir: string;
  trustDomain: string;
  /** How long each certificate is valid; it is renewed when two thirds of that have passed. */
  ttlMs: number;
  logger: Logger;
}

/**
 * One certificate per service (every instance of it proves the same identity, as pods of one
 * ServiceAccount do), issued before the services start and renewed in place before it expires:
 * the new key and certificate are renamed over the old, and each process takes them for its next
 * handshakes (the chassis follows the files), with no restart. One timer, set to the next renewal.
 */
export class WorkloadCertificates {
  readonly #settings: WorkloadCertificateSettings;
  readonly #authority: CertificateAuthority;
  readonly #renewals = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(settings: WorkloadCertificateSettings, authority: CertificateAuthority) {
    this.#settings = settings;
    this.#authority = authority;
  }

  static async start(
    services: readonly string[],
    settings: WorkloadCertificateSettings,
  ): Promise<WorkloadCertificates> {
    const folder = tlsFolder(settings.dataDir);
    const authority = await CertificateAuthority.open(folder);
    await mkdir(path.join(folder, 'workloads'), { recursive: true, mode: 0o700 });
    const certificates = new WorkloadCertificates(settings, authority);
    await Promise.all(services.map((service) => certificates.#issue(service)));
    certificates.#schedule();
    return certificates;
  }

  /** What a process of `service` is started with (the chassis's TLS_* variables). */
  environment(service: string): { TLS_CERT_FILE: string; TLS_KEY_FILE: string; TLS_CA_FILE: string } {
    if (!this.#renewals.has(service)) throw new Error(`no certificate was issued for ${service}`);
    const files = workloadTlsFiles(this.#settings.dataDir, service);
    return { TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile, TLS_CA_FILE: files.caFile };
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #files(service: string) {
    const files = workloadTlsFiles(this.#settings.dataDir, service);
    return { cert: files.certFile, key: files.keyFile };
  }

  async #issue(service: string): Promise<void> {
    const { trustDomain, ttlMs } = this.#settings;
    const issued = await this.#authority.issue({ spiffeId: embeddedSpiffeId(trustDomain, service), ttlMs });
    const files = this.#files(service);
    // The key first, then its certificate: a process reading between the two sees a key that is not
    // its certificate's and keeps the pair it has until the certificate follows.
    await writePrivate(files.key, issued.key);
    await writeAtomically(files.cert, issued.cert, 0o644);
    this.#renewals.set(service, Date.now() + Math.floor((ttlMs * 2) / 3));
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    if (this.#stopped || this.#renewals.size === 0) return;
    const next = Math.min(...this.#renewals.values());
    this.#timer = setTimeout(() => void this.#renewDue(), Math.max(0, next - Date.now()));
    this.#timer.unref();
  }

  async #renewDue(): Promise<void> {
    const due = [...this.#renewals].filter(([, at]) => at <= Date.now()).map(([service]) => service);
    try {
      await Promise.all(due.map((service) => this.#issue(service)));
      this.#settings.logger.info({ services: due }, `renewed the certificates of ${due.join(', ')}`);
    } catch (error) {
      this.#settings.logger.error({ err: error }, 'could not renew certificates; trying again in 10 s');
      for (const service of due) this.#renewals.set(service, Date.now() + 10_000);
    }
    this.#schedule();
  }
}
