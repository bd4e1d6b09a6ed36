import { request } from 'node:http';
import { request as secureRequest } from 'node:https';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: <T = Record<string, unknown>>() => T | undefined;
}

/**
 * An HTTP/1.1 request whose target is sent exactly as written. `fetch` (and light-my-request's
 * inject) parse the URL first, which resolves `..`, `%2e%2e` and the like before anything is sent;
 * an attacker's client does not, so tests of path handling need this.
 */
export function rawRequest(
  base: string,
  target: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    /** A string or bytes as they are, anything else as JSON (sent as `application/json` either way). */
    body?: unknown;
    /**
     * For an `https:` base: the client certificate, its key and the CA that signed the server's (a
     * port inside the mesh; its certificate names no host, so the host is not checked).
     */
    tls?: { cert: string; key: string; ca: string };
  } = {},
): Promise<RawAnswer> {
  const url = new URL(base);
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string' || Buffer.isBuffer(options.body)
        ? options.body
        : JSON.stringify(options.body);
  const secure = url.protocol === 'https:';
  const send = secure ? secureRequest : request;
  return new Promise((resolve, reject) => {
    const sent = send(
      {
        ...(secure ? { ...options.tls, checkServerIdentity: () => undefined } : {}),
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: target,
        agent: false,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body,
            json: <T>() => {
              try {
                return JSON.parse(body) as T;
              } catch {
                return undefined;
              }
            },
          }),
        );
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(payload);
  });
}
