import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import replyFrom from '@fastify/reply-from';
import { AppError, contextHeaders, httpOutcome, remainingDeadlineMs } from '@mercato/chassis';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { BackendAddresses } from '../upstreams/backend-address.ts';
import { pickBackend } from './route-table.ts';

const tooLarge = (limit: number) =>
  new AppError({
    code: 'HTTP.PAYLOAD_TOO_LARGE',
    kind: 'payload_too_large',
    message: `The body is larger than ${limit} bytes`,
  });

/** The body as it arrives, failing once more than `limit` bytes have come (chunked bodies have no length up front). */
function limitedBody(raw: IncomingMessage, limit: number, onExceeded: () => void): Transform {
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      if (received <= limit) return done(null, chunk);
      onExceeded();
      raw.unpipe(counter);
      done(tooLarge(limit));
    },
  });
  return raw.pipe(counter);
}

/**
 * Routes whose table entry names a `proxy` cluster are forwarded as they are (method, path,
 * query, headers, body streamed) to one of its backends, picked by weight, before any handler of
 * ours runs; this is how a capability moves between a legacy system and a new service by editing
 * the table (strangler fig). Anything neither proxied nor handled is a 404.
 */
export async function installProxying(
  app: FastifyInstance,
  bodyLimitBytes: number,
  addresses: BackendAddresses,
) {
  await app.register(replyFrom, { undici: { connections: 128, pipelining: 1 } });

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    schema: { hide: true },
    handler: async (request) => {
      throw new AppError({
        code: 'HTTP.ROUTE_NOT_FOUND',
        kind: 'not_found',
        message: `No route for ${request.method} ${request.url.split('?', 1)[0]}`,
      });
    },
  });

  /** Forwards the request when its route is a proxy route; says whether it did. */
  return (request: FastifyRequest, reply: FastifyReply): boolean => {
    const cluster = request.gatewayRoute.proxy;
    if (!cluster) return false;
    const backend = pickBackend(cluster);
    // Streams the client's body through unread (and so unparsed and unvalidated by us). fastify's
    // own limit applies only to bodies it parses, so a declared length over the limit is refused
    // here and a chunked body is counted on its way through.
    if (Number(request.headers['content-length'] ?? 0) > bodyLimitBytes) throw tooLarge(bodyLimitBytes);
    // Sent once, to one instance, whatever the method. The lease ends with the answer or the error
    // below, or when the exchange closes without either (the client went away: nothing learnt).
    const lease = addresses.lease(backend);
    reply.raw.once('close', () => lease.end('cancelled'));
    let exceeded = false;
    if (request.method !== 'GET' && request.method !== 'HEAD')
      request.body = limitedBody(request.raw, bodyLimitBytes, () => {
        exceeded = true;
      });
    // reply-from decodes the whole URL, query included, before it sends anything: a malformed
    // escape there (`?q=%E0`) throws, and is the client's mistake.
    try {
      decodeURIComponent(request.url);
    } catch {
      throw new AppError({
        code: 'HTTP.MALFORMED_URL',
        kind: 'validation',
        message: 'The URL has an invalid percent-encoding',
      });
    }
    // The canonical target (request.url after rewriteUrl), so the cut is of the path the route
    // matched: its prefix is plain lower-case letters, the same length in any case or encoding.
    const strip = request.gatewayRoute.stripPrefix;
    void reply.from(strip ? request.url.slice(strip.length) : request.url, {
      getUpstream: () => lease.address,
      // A backend that knows its paths without the prefix answers Locations without it too.
      rewriteHeaders: (headers) =>
        strip && typeof headers.location === 'string' && headers.location.startsWith('/')
          ? { ...headers, location: `${strip}${headers.location}` }
          : headers,
      // Not repeated: a 503 (with its Retry-After) or a failure goes back to the client as it is,
      // rather than asking an instance that sheds load again at once.
      retryDelay: () => null,
      // The client's own trace headers are dropped: the tracing SDK's undici instrumentation adds
      // this gateway's, and a second traceparent beside it would make the trace ambiguous.
      rewriteRequestHeaders: (_request, { traceparent: _parent, tracestate: _state, ...headers }) => ({
        ...headers,
        ...contextHeaders(),
      }),
      // The route's time budget covers the proxied call too.
      timeout: Math.max(1, remainingDeadlineMs() ?? 5_000),
      onResponse: (_request, answered, response) => {
        lease.end(httpOutcome({ status: response.statusCode }));
        void answered.send(response.stream);
      },
      onError: (failed, { error }) => {
        // reply-from wraps the connection's error (its code is on the cause). A body cut off for
        // its size says nothing about the instance.
        lease.end(exceeded ? 'cancelled' : httpOutcome({ error, aborted: request.raw.aborted }));
        if (exceeded) {
          // The rest of the body is still on the wire; the connection cannot be reused.
          void failed.header('connection', 'close');
          failed.send(tooLarge(bodyLimitBytes));
          return;
        }
        failed.send(
          new AppError({
            code: `${backend.name.toUpperCase()}.UNAVAILABLE`,
            kind: 'bad_gateway',
            message: `${backend.name} did not answer`,
            cause: error,
          }),
        );
      },
    });
    return true;
  };
}
