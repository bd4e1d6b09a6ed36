import { performance } from 'node:perf_hooks';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { contextHeaders } from '../http/request-ids.ts';
import { currentRequestContext } from '../logging/request-context.ts';
import type { RpcMetrics } from './rpc-metrics.ts';

const tracer = trace.getTracer('mercato-grpc');

const headerSetter = {
  set: (carrier: Headers, key: string, value: string) => carrier.set(key, value),
};

/**
 * Each attempt: a client span whose context travels as `traceparent`; the correlation id, request
 * id and verified user id; RED.
 */
export function clientInterceptor(dependency: string, metrics: RpcMetrics): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    for (const [name, value] of Object.entries(contextHeaders())) request.header.set(name, value);
    // Only to other services' gRPC ports (never to an HTTP backend or a third party).
    const userToken = currentRequestContext()?.userToken;
    if (userToken) request.header.set('authorization', userToken);
    const span = tracer.startSpan(`${request.service.typeName}/${request.method.name}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': request.service.typeName,
        'rpc.method': request.method.name,
        'peer.service': dependency,
      },
    });
    propagation.inject(trace.setSpan(context.active(), span), request.header, headerSetter);
    const record = (code: Code | 0) => {
      metrics.clientDuration.observe(
        { dependency, rpc_method: request.method.name, grpc_code: code === 0 ? 'OK' : Code[code] },
        (performance.now() - started) / 1000,
      );
      span.setAttribute('rpc.grpc.status_code', code);
      if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    try {
      const response = await next(request);
      if (!response.stream) record(0);
      else span.end();
      return response;
    } catch (error) {
      record(ConnectError.from(error).code);
      throw error;
    }
  };
}
