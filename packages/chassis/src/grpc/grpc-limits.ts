/**
 * The largest message a server reads or a client accepts, after decompression: 4 MiB, gRPC's own
 * default receive limit (grpc-go, grpc-java). Connect's default is ~4 GiB, so one gzipped request of
 * 200 KB (200 MB of one repeated byte) made a service inflate and parse 200 MB: 0.6 GB of memory and
 * 4 s of CPU for a call refused afterwards. Beyond this, `RESOURCE_EXHAUSTED` before anything is
 * inflated past it.
 */
export const GRPC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
