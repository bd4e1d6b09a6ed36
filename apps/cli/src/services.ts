import path from 'node:path';

/** How the supervisor starts one service. Order in `serviceCatalog` is start order. */
export interface ServiceSpec {
  name: string;
  /** Folder of the service's package, relative to the repository root. */
  directory: string;
  /** Its own database and login role are provisioned when true. */
  database: boolean;
  /** It publishes or consumes messages: it is given the bus (the message store, or NATS). */
  messaging: boolean;
  /** Services that must be ready before this one starts. */
  dependsOn: string[];
  /** Extra environment, given the base URLs of the services already placed. */
  env?: (urls: Record<string, string>) => Record<string, string>;
}

export const serviceCatalog: readonly ServiceSpec[] = [
  { name: 'catalog', directory: 'services/catalog', database: true, messaging: true, dependsOn: [] },
  {
    name: 'gateway',
    directory: 'apps/gateway',
    database: false,
    messaging: false,
    dependsOn: ['catalog'],
    env: (urls) => ({ CATALOG_URL: urls.catalog ?? '' }),
  },
];

export const repositoryRoot = path.resolve(import.meta.dirname, '../../..');

/** Node arguments that run a service's composition root with TypeScript and tracing loaded first. */
export const serviceCommand = (): string[] => [
  '--import',
  'tsx',
  '--import',
  '@mercato/chassis/register',
  'src/main.ts',
];
