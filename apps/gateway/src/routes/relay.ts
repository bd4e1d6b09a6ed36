import { AppError, PROBLEM_CONTENT_TYPE } from '@mercato/chassis';
import type { FastifyReply } from 'fastify';
import type { UpstreamResponse } from '../upstreams/http-upstream.ts';

/**
 * Sends an upstream answer on unchanged when it is a success or a client error (its problem+json
 * already says what is wrong). An upstream 5xx becomes a 502 so the edge never leaks internals.
 */
export function relay(reply: FastifyReply, upstream: string, response: UpstreamResponse): FastifyReply {
  if (response.status >= 500) {
    throw new AppError({
      code: 'GATEWAY.UPSTREAM_FAILED',
      kind: 'bad_gateway',
      message: `${upstream} failed to answer (${response.status})`,
    });
  }
  const contentType =
    response.contentType ?? (response.status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json');
  return reply.status(response.status).type(contentType).send(response.body);
}
