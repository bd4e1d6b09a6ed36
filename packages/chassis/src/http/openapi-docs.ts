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
      // Routes that need a signed-in caller declare `security: [{ bearer: [] }]`.
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    transform: jsonSchemaTransform,
  });
  if (settings.ui) {
    const { default: swaggerUi } = await import('@fastify/swagger-ui');
    await app.register(swaggerUi, { routePrefix: '/docs', logLevel: 'silent' });
  } else {
    app.get('/docs/json', { schema: { hide: true } }, () => app.swagger());
  }
}
