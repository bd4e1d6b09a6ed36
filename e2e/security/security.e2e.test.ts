import { describeAttacks } from './attack-suite.ts';

// The platform as `npm start` runs it.
describeAttacks({
  title: 'the platform under attack',
  ports: { postgres: 25400, gateway: 19080, base: 16001, grpcBase: 17001 },
  mtls: false,
});
