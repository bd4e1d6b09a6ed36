import { createHash, timingSafeEqual } from 'node:crypto';
import { createAdminGuard } from '@mercato/chassis/admin-guard';
import { createAuthenticator } from '@mercato/chassis/auth';
import { AppError } from '@mercato/chassis/errors';
import { createHttpServer, type HttpApp } from '@mercato/chassis/http-server';
import type { Logger } from '@mercato/chassis/logging';
import { createServiceMetrics } from '@mercato/chassis/metrics';
import { registerOpenApiDocs } from '@mercato/chassis/openapi-docs';
import type { MigrationControl } from '../migration/migration-control.ts';
import type { LogStore } from '../observability/log-store.ts';
import type { MetricsCollector } from '../observability/metrics-collector.ts';
import { decodeOtlpProtobuf } from '../observability/otlp-decode.ts';
import type { SpanStore } from '../observability/span-store.ts';
import type { Registry } from '../supervisor/registry.ts';
import type { ReleaseController } from '../supervisor/releases/release-controller.ts';
import type { ServiceProcess } from '../supervisor/service-process.ts';
import { migrationRoutes } from './migration.routes.ts';
import { observabilityRoutes } from './observability.routes.ts';
import { processRoutes } from './process.routes.ts';
import { registryRoutes } from './registry.routes.ts';
import { releaseRoutes } from './release.routes.ts';
import { serviceAdminRoutes } from './service-admin.routes.ts';

export interface SupervisorApiSettings {
  port: number;
  adminToken: string;
  /** identity's JWKS: an access token with the `admin` role is let in too. */
  /** identity's JWKS, wherever its instance is now (undefined while none runs). */
  jwksUrl: () => string | undefined;
  logger: Logger;
  processes: () => readonly ServiceProcess[];
  /** Every service's instances, watched by the services' clients (`GET /admin/registry`). */
  registry: Registry;
  /** Releases (`POST /admin/releases`), available once the platform is up. */
  releases: ReleaseController;
  spans: SpanStore;
  logs: LogStore;
  metrics: MetricsCollector;
  /** How long a stopped or restarted process gets to drain before it is killed. */
  graceMs: number;
  /** The migration's drift checker and the monolith's retirement (`--legacy`). */
  migration?: MigrationControl;
}

export interface SupervisorApi {
  url: string;
  close: () => Promise<void>;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The supervisor's own HTTP API, on loopback: OTLP/HTTP in (`POST /v1/traces`, from every
 * service), and for an admin (the run's admin token, or an identity access token with the `admin`
 * role, checked as every service checks its `/admin/*`) process state and control, traces, logs,
 * metrics, and each service's own admin endpoints. The ops console reaches it through the gateway.
 */
export async function startSupervisorApi(settings: SupervisorApiSettings): Promise<SupervisorApi> {
  const app: HttpApp = createHttpServer({
    logger: settings.logger,
    metrics: createServiceMetrics('supervisor'),
    bodyLimitBytes: 8 * 1024 * 1024,
  });
  app.addHook(
    'onRequest',
    createAdminGuard({
      adminToken: settings.adminToken,
      verifyToken: createAuthenticator({
        jwksUrl: settings.jwksUrl,
        issuer: 'mercato-identity',
        audience: 'mercato',
        cacheSize: 100,
      }),
    }),
  );
  // The services export with the run's token (OTEL_EXPORTER_OTLP_HEADERS), so nothing else on the
  // machine can fill the store.
  const expected = digest(`Bearer ${settings.adminToken}`);
  app.addContentTypeParser('application/x-protobuf', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );
  // Its own document at /docs/json (open, as every service's is on its port), before the routes it
  // lists; every /admin route needs the admin token or role.
  await registerOpenApiDocs(app, {
    title: 'Mercato supervisor',
    description:
      'The supervisor of `npm start`: process state and control, the registry, releases, traces, logs, metrics, ' +
      "each service's own admin endpoints and the migration. The ops console reaches it at /ops/api/* through " +
      'the gateway. Every /admin route needs `Authorization: Bearer <admin token>` or an access token with the admin role.',
  });
  // The console polls: its requests are logged only when they fail.
  await app.register(
    async (scope) => {
      scope.post('/v1/traces', async (request, reply) => {
        const presented = digest(request.headers.authorization ?? '');
        if (!timingSafeEqual(presented, expected))
          throw new AppError({
            code: 'AUTH.ADMIN_REQUIRED',
            kind: 'unauthenticated',
            message: 'OTLP export needs Authorization: Bearer <admin token>',
          });
        if (!Buffer.isBuffer(request.body))
          throw new AppError({
            code: 'OTLP.UNSUPPORTED_MEDIA_TYPE',
            kind: 'validation',
            message: 'Send OTLP/HTTP as application/x-protobuf',
          });
        let spans: ReturnType<typeof decodeOtlpProtobuf>;
        try {
          spans = decodeOtlpProtobuf(request.body);
        } catch (error) {
          throw new AppError({
            code: 'OTLP.UNREADABLE',
            kind: 'validation',
            message: `Not an OTLP ExportTraceServiceRequest: ${(error as Error).message}`,
          });
        }
        settings.spans.add(spans);
        // An empty ExportTraceServiceResponse (no partial success) is an empty protobuf message.
        return reply.type('application/x-protobuf').send(Buffer.alloc(0));
      });
      await scope.register(processRoutes(settings.processes, settings.graceMs));
      await scope.register(registryRoutes(settings.registry));
      await scope.register(
        releaseRoutes(settings.releases, (event) => settings.logger.info(event, `release: ${event.message}`)),
      );
      await scope.register(observabilityRoutes(settings.spans, settings.logs, settings.metrics));
      await scope.register(serviceAdminRoutes(settings.processes, settings.adminToken));
      await scope.register(migrationRoutes(settings.migration));
    },
    { logLevel: 'warn' },
  );
  const url = await app.listen({ host: '127.0.0.1', port: settings.port });
  return { url, close: () => app.close() };
}
