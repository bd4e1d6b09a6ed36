import swagger from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { HttpApp } from './create-http-server.ts';

export interface DocsSettings {
  title: string;
  description?: string;
  version?: string;
  /**
   * Serve the browsable UI at `/docs` too (the edge does). Without it a service serves only the
   * document at `/docs/json`: the UI's static files and their modules cost every process ~5 MB.
   */
  ui?: boolean;
  /** Where clients reach the API (OpenAPI `servers`); `/` (this server) when not given. */
  servers?: { url: string; description: string }[];
}

type Operation = { operationId?: string; security?: unknown[] } & Record<string, unknown>;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** `GET /api/orders/{id}/events` → `getApiOrdersByIdEvents`: stable, unique per method and path. */
export const operationIdFor = (method: string, path: string): string =>
  [
    method,
    ...path
      .split('/')
      .filter(Boolean)
      .map((part) => (part.startsWith('{') ? `by-${part.slice(1, -1)}` : part)),
  ]
    .join('-')
    .replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ? next.toUpperCase() : ''));

/**
 * Completes the generated document so generated clients are usable: every operation has an
 * operationId (routes may name their own; the rest get one from method and path) and says whether
 * it needs a token (routes that do declare `security: [{ bearer: [] }]`; the others are public,
 * `security: []`).
 */
export function completeOperations<Document extends object>(document: Document): Document {
  const paths = (document as { paths?: Record<string, Record<string, unknown> | undefined> }).paths ?? {};
  for (const [path, item] of Object.entries(paths))
    for (const method of METHODS) {
      const operation = item?.[method] as Operation | undefined;
      if (!operation) continue;
      operation.operationId ??= operationIdFor(method, path);
      operation.security ??= [];
    }
  return document;
}

/** OpenAPI generated from the routes' zod schemas: the document at `/docs/json`, the UI at `/docs`. */
export async function registerOpenApiDocs(app: HttpApp, settings: DocsSettings): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: settings.title,
        description: settings.description ?? '',
        version: settings.version ?? '0.1.0',
      },
      servers: settings.servers ?? [{ url: '/', description: 'this server' }],
      // Routes that need a signed-in caller declare `security: [{ bearer: [] }]`.
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: (documents) =>
      completeOperations('openapiObject' in documents ? documents.openapiObject : documents.swaggerObject),
  });
  if (settings.ui) {
    const { default: swaggerUi } = await import('@fastify/swagger-ui');
    await app.register(swaggerUi, { routePrefix: '/docs', logLevel: 'silent' });
  } else {
    app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());
  }
}
