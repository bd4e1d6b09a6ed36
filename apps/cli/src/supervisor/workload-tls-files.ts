import path from 'node:path';

/** The folder of the platform's CA and its workloads' certificates: `<dataDir>/tls`. */
export const tlsFolder = (dataDir: string): string => path.join(dataDir, 'tls');

/** The supervisor's own workload identity under `--mtls` (it probes and scrapes the services' HTTP ports). */
export const SUPERVISOR_IDENTITY = 'supervisor';

/** Where an identity's certificate and key are, and the CA beside them (the chassis's TLS_* files). */
export function workloadTlsFiles(dataDir: string, identity: string) {
  const folder = tlsFolder(dataDir);
  return {
    certFile: path.join(folder, 'workloads', `${identity}.crt`),
    keyFile: path.join(folder, 'workloads', `${identity}.key`),
    caFile: path.join(folder, 'ca.crt'),
  };
}
