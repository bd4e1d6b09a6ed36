export {
  configureHttpsClient,
  type HttpsClientSettings,
  presentWorkloadCertificate,
} from './workload-https.ts';
export { loadWorkloadTls, type TlsFiles, type WorkloadTls } from './workload-tls.ts';
