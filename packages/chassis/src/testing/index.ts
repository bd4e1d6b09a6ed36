/** A delivery group's LISTEN/NOTIFY channel on the PostgreSQL bus: a test that writes a delivery by hand wakes the group's members on it. */
export { busChannel } from '../messaging/postgres-bus/postgres-message-bus.ts';
export { startGrpcStub } from './grpc-stub.ts';
export * from './infra.ts';
export { isAlive } from './is-alive.ts';
export { type OpenTransaction, openTransactionsIn, waitForRowLockWait } from './open-transactions.ts';
export { freePort, portOf } from './ports.ts';
export { ProcessUnderTest } from './process-under-test.ts';
export { parsePrometheusText, sampleValue } from './prometheus-text.ts';
export { type RawAnswer, rawRequest } from './raw-request.ts';
export { selfSignedCertificate } from './self-signed-certificate.ts';
export {
  connectTestBus,
  createTestMessageStore,
  grpcFailure,
  startTestService,
  type TestBus,
  type TestService,
} from './test-service.ts';
export { AUDIENCE, ISSUER, startTokenIssuer } from './token-issuer.ts';
export { waitFor, waitForHandled } from './wait-for.ts';
