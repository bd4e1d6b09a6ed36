import { createService } from '@mercato/chassis';
import { gatewayDefinition } from '../gateway.service.ts';

// Nothing is called: the document is built from the routes alone.
const nowhere = 'http://127.0.0.1:9';

/**
 * The edge's OpenAPI document as `/docs/json` serves it, built in this process without a platform:
 * the web app's API client is generated from it at build time, so a changed API breaks the build.
 */
export async function edgeOpenApiDocument(): Promise<Record<string, unknown>> {
  const service = await createService(gatewayDefinition, {
    LOG_LEVEL: 'silent',
    PORT: '0',
    IDENTITY_URL: nowhere,
    MERCATO_DISCOVERY: 'static',
  });
  try {
    return (await service.app.inject({ url: '/docs/json' })).json() as Record<string, unknown>;
  } finally {
    await service.stop();
  }
}
