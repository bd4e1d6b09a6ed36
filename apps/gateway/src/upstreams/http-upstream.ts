import { AppError, CORRELATION_HEADER, currentRequestContext, REQUEST_ID_HEADER } from '@mercato/chassis';
import { Pool } from 'undici';

export interface UpstreamResponse {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

export interface ForwardRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

const toSearch = (query: ForwardRequest['query']): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
};

/**
 * An HTTP service behind the gateway, reached over a keep-alive pool. Network failures become
 * AppErrors (503 unavailable, 504 timeout) so that clients always receive problem+json.
 */
export class HttpUpstream {
  readonly name: string;
  readonly #pool: Pool;
  readonly #timeoutMs: number;

  constructor(name: string, baseUrl: string, timeoutMs: number) {
    this.name = name;
    this.#timeoutMs = timeoutMs;
    this.#pool = new Pool(baseUrl, { connections: 64, pipelining: 1, keepAliveTimeout: 10_000 });
  }

  async forward(request: ForwardRequest): Promise<UpstreamResponse> {
    const context = currentRequestContext();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (context) {
      headers[CORRELATION_HEADER] = context.correlationId;
      headers[REQUEST_ID_HEADER] = context.requestId;
    }
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await this.#pool.request({
        method: request.method,
        path: `${request.path}${toSearch(request.query)}`,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        // A precise deadline for the whole exchange; undici's own timeouts tick in coarse steps.
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      const contentType = response.headers['content-type'];
      return {
        status: response.statusCode,
        contentType: Array.isArray(contentType) ? contentType[0] : contentType,
        body,
      };
    } catch (error) {
      throw this.#failure(error);
    }
  }

  /** Readiness of the upstream as the gateway sees it: its own /readyz answers 200. */
  async ready(): Promise<void> {
    const response = await this.#pool.request({
      method: 'GET',
      path: '/readyz',
      headersTimeout: 1_000,
      bodyTimeout: 1_000,
    });
    await response.body.dump();
    if (response.statusCode !== 200) throw new Error(`${this.name} is not ready (${response.statusCode})`);
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  #failure(error: unknown): AppError {
    const code = error instanceof Error ? (error as { code?: string }).code : undefined;
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    if (timedOut || (code && timeoutCodes.has(code))) {
      return new AppError({
        code: 'GATEWAY.UPSTREAM_TIMEOUT',
        kind: 'timeout',
        message: `${this.name} did not answer within ${this.#timeoutMs} ms`,
        cause: error,
      });
    }
    return new AppError({
      code: 'GATEWAY.UPSTREAM_UNAVAILABLE',
      kind: 'unavailable',
      message: `${this.name} is unavailable`,
      cause: error,
    });
  }
}
