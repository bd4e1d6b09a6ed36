/**
 * The ports every service serves on in Kubernetes: the chassis' DNS discovery calls `<name>:50051`
 * for gRPC and `<name>:8080` for HTTP (MERCATO_DNS_GRPC_PORT and MERCATO_DNS_HTTP_PORT default to
 * these), so each Deployment listens there (GRPC_PORT, PORT) and each Service exposes them.
 */
export const GRPC_PORT = 50051;
export const HTTP_PORT = 8080;

/** The label every selector in the manifests uses: a workload's service name. */
export const NAME_LABEL = 'app.kubernetes.io/name';
