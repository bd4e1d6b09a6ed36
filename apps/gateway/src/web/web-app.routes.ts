import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { AppError } from '@mercato/chassis';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { forbidden, type Identification } from '../auth/identification.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: the route makes no span (the chassis's tracing reads it). */
    tracing?: boolean;
  }
}

export interface WebAppSettings {
  identification: Identification;
  /** The supervisor's API (`npm start` sets SUPERVISOR_URL); without it the console has no data. */
  supervisorUrl: string | undefined;
  /** The run's admin token, accepted beside an identity token with the `admin` role. */
  adminToken: string | undefined;
  /** The built web app (`apps/web/dist`). */
  root?: string;
}

/** The storefront's client-side pages: each answers with the storefront's HTML. */
const storefrontPages = [
  '/',
  '/search',
  '/products/:id',
  '/cart',
  '/checkout',
  '/signin',
  '/register',
  '/orders',
  '/orders/:id',
  '/notifications',
];

// The pages load only their own scripts and styles and talk only to this origin.
const contentSecurityPolicy = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "object-src 'none'",
].join('; ');

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Neither traced nor logged unless they fail: page loads and the console's polling are noise. */
const quiet = { config: { tracing: false }, logLevel: 'warn', schema: { hide: true } } as const;

/**
 * The web app on the gateway's origin: the storefront at `/` (and its pages), the ops console at
 * `/ops`, their hashed assets, and `/ops/api/*` forwarded to the supervisor's API for admins only
 * (checked here and again by the supervisor).
 */
export const webAppRoutes =
  (settings: WebAppSettings): FastifyPluginAsyncZod =>
  async (app) => {
    const root = settings.root ?? fileURLToPath(new URL('../../../web/dist', import.meta.url));
    await app.register(fastifyStatic, { root, serve: false });
    const adminToken = settings.adminToken ? digest(`Bearer ${settings.adminToken}`) : undefined;

    const page = (file: string) => async (_request: FastifyRequest, reply: FastifyReply) => {
      if (!existsSync(`${root}/${file}`))
        throw new AppError({
          code: 'WEB.NOT_BUILT',
          kind: 'unavailable',
          message: 'The web app is not built: npm start builds it (or npm run build)',
        });
      return reply
        .header('cache-control', 'no-cache')
        .header('content-security-policy', contentSecurityPolicy)
        .sendFile(file);
    };
    for (const url of storefrontPages) app.get(url, quiet, page('index.html'));
    app.get('/ops', quiet, page('ops/index.html'));
    app.get('/ops/*', quiet, page('ops/index.html'));
    app.get('/assets/*', quiet, (request, reply) =>
      reply
        .header('cache-control', 'public, max-age=31536000, immutable')
        .sendFile(`assets/${(request.params as { '*': string })['*']}`),
    );

    const requireAdmin = async (request: FastifyRequest): Promise<void> => {
      const header = request.headers.authorization;
      if (header && adminToken && timingSafeEqual(digest(header), adminToken)) return;
      const principal = await settings.identification.requirePrincipal(request);
      if (!principal.roles.includes('admin')) throw forbidden('The ops console needs the admin role');
    };

    app.route({
      method: ['GET', 'POST', 'PUT'],
      url: '/ops/api/*',
      ...quiet,
      handler: async (request, reply) => {
        await requireAdmin(request);
        if (!settings.supervisorUrl)
          throw new AppError({
            code: 'WEB.NO_SUPERVISOR',
            kind: 'unavailable',
            message: 'No supervisor API here (SUPERVISOR_URL is unset): the console needs npm start',
          });
        const path = request.url.slice('/ops/api/'.length);
        const target = new URL(`/admin/${path}`, settings.supervisorUrl);
        // Only the supervisor's admin API is forwarded: dot segments, and encoded dots, slashes,
        // backslashes or NUL (which a later hop could decode into one), are refused.
        if (!target.pathname.startsWith('/admin/') || /%(2e|2f|5c|00)|\\/i.test(path.split('?')[0] ?? ''))
          throw new AppError({
            code: 'WEB.BAD_PATH',
            kind: 'validation',
            message: 'The console API path must be plain segments under /ops/api/',
          });
        return forward(reply, target, request);
      },
    });
  };

/**
 * One request to the supervisor, answered as it answers. node:http rather than fetch, so the
 * console's polling makes no client spans (only fetch and undici are traced).
 */
function forward(reply: FastifyReply, target: URL, request: FastifyRequest): Promise<FastifyReply> {
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      target,
      {
        method: request.method,
        headers: {
          authorization: request.headers.authorization ?? '',
          'x-correlation-id': String(request.headers['x-correlation-id'] ?? request.id),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        timeout: 15_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve(
            reply
              .status(response.statusCode ?? 502)
              .type(response.headers['content-type'] ?? 'application/json')
              .send(Buffer.concat(chunks)),
          ),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('the supervisor did not answer in 15 s')));
    outgoing.on('error', (error) =>
      reject(
        new AppError({
          code: 'WEB.SUPERVISOR_UNREACHABLE',
          kind: 'unavailable',
          message: `The supervisor did not answer: ${error.message}`,
          cause: error,
        }),
      ),
    );
    outgoing.end(body);
  });
}
