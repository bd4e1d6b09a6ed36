import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { HttpApp } from './create-http-server.ts';

export interface DocsSettings {
  title: string;
  description?: string;
  version?: string;
}

/** OpenAPI generated from the routes' zod schemas; UI at `/docs`, document at `/docs/json`. */
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
  await app.register(swaggerUi, { routePrefix: '/docs', logLevel: 'silent' });
}
