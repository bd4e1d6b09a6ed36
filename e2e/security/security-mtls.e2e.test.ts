import { describeAttacks } from './attack-suite.ts';

// The same attacks on `npm start -- --mtls`: every edge case still holds, and those that reach a
// service's own ports are made with a valid certificate of the platform.
describeAttacks({
  title: 'the platform under attack, with mutual TLS between its services',
  ports: { postgres: 25441, gateway: 19383, base: 13201, grpcBase: 12201 },
  mtls: true,
});
