import http from 'node:http';
import https from 'node:https';
import { context, propagation, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { httpsConnectionTls } from '../tls/workload-https.ts';

const tracer = trace.getTracer('@mercato/chassis/http-client');

/** The most an answer may weigh: a larger one is refused rather than held in memory. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Appended to the base URL's path; may carry a query. */
  path: string;
  /** The path's template for the span's name (`/v1/shipments/{id}`), not its values. */
  route?: string;
  headers?: Readonly<Record<string, string>>;
  /** Sent as JSON. */
  body?: unknown;
  /** Aborts the call (on top of the client's timeout). */
  signal?: AbortSignal | undefined;
}

export interface JsonAnswer {
  status: number;
  /** The answer parsed as JSON, or undefined when it was empty or not JSON. */
  body: unknown;
}

/** The call got no complete answer: the connection failed, the time ran out or the caller aborted. */
export class HttpCallFailed extends Error {
  override name = 'HttpCallFailed';
}

export interface JsonHttpClientOptions {
  /** The whole call, a retry included, ends within this. */
  timeoutMs: number;
  /** Connections kept open to the server at most (calls beyond wait for one). */
  maxSockets?: number;
}

/**
 * JSON over HTTP to one server (a payment provider, a carrier) on kept-alive connections of
 * `node:http`/`node:https`. Global `fetch` cost about four times the CPU a call (undici's web
 * streams, its abort signals and its instrumentation; payment spent a fifth of its CPU on the one
 * call to its provider an order), and these calls need none of what it adds. A call made inside a
 * traced operation gets a client span, made here as the chassis makes pg's, and carries the trace
 * context to the server either way. Over HTTPS, new connections present the workload's certificate
 * and check the peer as `configureHttpsClient` set for the whole process.
 *
 * A call that failed on a kept-alive connection the server had just closed (the request never
 * reached it) is sent once more on a new one, if it is safe to repeat: a GET, or a write carrying an
 * `idempotency-key`.
 */
export class JsonHttpClient {
  readonly #url: URL;
  readonly #basePath: string;
  readonly #transport: typeof http | typeof https;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #port: number;
  /** The host as a socket takes it: an IPv6 address without the URL's brackets. */
  readonly #host: string;

  constructor(baseUrl: string, options: JsonHttpClientOptions) {
    this.#url = new URL(baseUrl);
    if (this.#url.protocol !== 'http:' && this.#url.protocol !== 'https:')
      throw new Error(`${baseUrl} is not an http:// or https:// URL`);
    const secure = this.#url.protocol === 'https:';
    this.#basePath = this.#url.pathname.replace(/\/$/, '');
    this.#transport = secure ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 32 };
    this.#agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.#timeoutMs = options.timeoutMs;
    this.#port = Number(this.#url.port || (secure ? 443 : 80));
    this.#host = this.#url.hostname.replace(/^\[(.*)\]$/, '$1');
  }

  async request(call: JsonRequest): Promise<JsonAnswer> {
    const payload = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body));
    const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const parent = trace.getSpan(context.active());
    if (!parent?.isRecording()) {
      propagation.inject(context.active(), headers);
      return this.#send(call, headers, payload);
    }
    const span = this.#span(call);
    propagation.inject(trace.setSpan(context.active(), span), headers);
    try {
      const answer = await this.#send(call, headers, payload);
      span.setAttribute('http.response.status_code', answer.status);
      if (answer.status >= 400) {
        span.setAttribute('error.type', String(answer.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return answer;
    } catch (error) {
      span.setAttribute('error.type', (error as NodeJS.ErrnoException).code ?? (error as Error).name);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  #span(call: JsonRequest): Span {
    return tracer.startSpan(
      call.route ? `${call.method} ${call.route}` : call.method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'http.request.method': call.method,
          'url.full': `${this.#url.origin}${this.#basePath}${call.path}`,
          'server.address': this.#url.hostname,
          'server.port': this.#port,
        },
      },
      context.active(),
    );
  }

  async #send(call: JsonRequest, headers: Record<string, string>, payload: Buffer | undefined) {
    const deadline = performance.now() + this.#timeoutMs;
    const repeatable = call.method === 'GET' || headers['idempotency-key'] !== undefined;
    try {
      return await this.#attempt(call, headers, payload, deadline);
    } catch (error) {
      const reset =
        (error as NodeJS.ErrnoException).code === 'ECONNRESET' ||
        (error as NodeJS.ErrnoException).code === 'EPIPE';
      if (!(repeatable && reset && (error as { onReusedSocket?: boolean }).onReusedSocket)) throw error;
      return this.#attempt(call, headers, payload, deadline);
    }
  }

  #attempt(
    call: JsonRequest,
    headers: Record<string, string>,
    payload: Buffer | undefined,
    deadline: number,
  ): Promise<JsonAnswer> {
    const { signal } = call;
    return new Promise<JsonAnswer>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new HttpCallFailed(`${call.method} ${call.path} was aborted by the caller`));
        return;
      }
      const request = this.#transport.request({
        protocol: this.#url.protocol,
        hostname: this.#host,
        port: this.#port,
        path: `${this.#basePath}${call.path}`,
        method: call.method,
        headers,
        agent: this.#agent,
        ...(this.#transport === https ? httpsConnectionTls(this.#host, String(this.#port)) : {}),
      });
      // Why this call was ended here, if it was: what the caller is told, whichever of the
      // request's or the answer's error events reports it.
      let failure: HttpCallFailed | undefined;
      const fail = (reason: string) => {
        failure ??= new HttpCallFailed(`${call.method} ${call.path} ${reason}`);
        request.destroy(failure);
      };
      const timer = setTimeout(
        () => fail(`had no answer within ${this.#timeoutMs} ms`),
        Math.max(0, deadline - performance.now()),
      );
      const onAbort = () => fail('was aborted by the caller');
      signal?.addEventListener('abort', onAbort, { once: true });
      let settled = false;
      const settle = () => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const failed = (error: Error) => {
        if (!settle()) return;
        if (failure) reject(failure);
        else reject(Object.assign(error, { onReusedSocket: request.reusedSocket }));
      };
      request.on('error', failed);
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) fail(`answered more than ${MAX_ANSWER_BYTES} bytes`);
          else chunks.push(chunk);
        });
        response.on('error', failed);
        response.on('end', () => {
          if (settle()) resolve({ status: response.statusCode ?? 0, body: parsed(Buffer.concat(chunks)) });
        });
        response.on('close', () => {
          if (!response.complete)
            failed(
              failure ?? new HttpCallFailed(`${call.method} ${call.path}: the connection closed mid-answer`),
            );
        });
      });
      request.end(payload);
    });
  }
}

const parsed = (bytes: Buffer): unknown => {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
};
