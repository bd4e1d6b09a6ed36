import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

type SyncStep = (request: FastifyRequest, reply: FastifyReply) => void;
type MaybeAsyncStep = (request: FastifyRequest, reply: FastifyReply) => Promise<void> | undefined;

export interface EdgeSteps {
  route: SyncStep;
  checkFraming: SyncStep;
  authorize: MaybeAsyncStep;
  limit: MaybeAsyncStep;
  /** True when it took the request over (forwarded it as it is). */
  proxy: (request: FastifyRequest, reply: FastifyReply) => boolean;
}

/**
 * The gateway's per-request steps in one onRequest hook, in the order that matters: match the
 * route (it decides everything after), refuse ambiguous framing, require a token where the route
 * says so, count the rate limit, then forward proxy routes. One hook instead of five because each
 * async hook costs a promise and a context switch on the hot path; steps with nothing to do return
 * undefined and are not awaited.
 */
export function installEdgePipeline(app: FastifyInstance, steps: EdgeSteps): void {
  app.addHook('onRequest', async (request, reply) => {
    steps.route(request, reply);
    steps.checkFraming(request, reply);
    const authorizing = steps.authorize(request, reply);
    if (authorizing) await authorizing;
    const limiting = steps.limit(request, reply);
    if (limiting) await limiting;
    if (steps.proxy(request, reply)) return reply;
  });
}
