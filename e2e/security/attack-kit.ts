import { readFile } from 'node:fs/promises';
import type { DescField, DescMessage, DescService } from '@bufbuild/protobuf';
import { ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { type RawAnswer, rawRequest } from '@mercato/chassis/testing';
import { workloadTlsFiles } from '../../apps/cli/src/supervisor/workload-tls-files.ts';
import { superuserClient } from '../support/platform-process.ts';

/** One spelling of a path and what the platform must make of it. */
export interface Disguise {
  name: string;
  target: string;
  /** guarded: treated as the path it stands for (its guard answers); refused: 400 before routing. */
  outcome: 'guarded' | 'refused';
}

/**
 * The spellings an attacker tries to slip `/<first>/<rest>` past a guard that looks at the raw
 * target: percent-encoded letters, encoded dot segments, encoded separators, double encoding, `//`,
 * `/./`, `;` parameters, case, a trailing slash, NUL, an overlong UTF-8 `/`.
 */
export function disguisesOf(path: string): Disguise[] {
  const [, first = '', ...rest] = path.split('/');
  const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
  const hex = (char: string) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  const encodedFirst = `${hex(first[0] ?? 'a')}${first.slice(1)}`;
  return [
    { name: '%61 (an encoded letter)', target: `/${encodedFirst}${tail}`, outcome: 'guarded' },
    { name: 'every letter encoded', target: `/${[...first].map(hex).join('')}${tail}`, outcome: 'guarded' },
    { name: '%2e%2e (an encoded ..)', target: `/x/%2e%2e/${first}${tail}`, outcome: 'guarded' },
    { name: '..', target: `/x/../${first}${tail}`, outcome: 'guarded' },
    { name: '// (a doubled slash)', target: `//${first}${tail}`, outcome: 'guarded' },
    { name: '/./', target: `/./${first}${tail}`, outcome: 'guarded' },
    { name: 'case', target: `/${first.toUpperCase()}${tail}`, outcome: 'guarded' },
    { name: 'trailing slash', target: `${path}/`, outcome: 'guarded' },
    { name: '%2f (an encoded /)', target: `/${first}%2f${rest.join('%2f')}`, outcome: 'refused' },
    { name: '%5c (an encoded \\)', target: `/${first}%5c${rest.join('/')}`, outcome: 'refused' },
    {
      name: 'double encoding',
      target: `/%25${hex(first[0] ?? 'a').slice(1)}${first.slice(1)}${tail}`,
      outcome: 'refused',
    },
    { name: '; parameters', target: `/${first};jsessionid=1${tail}`, outcome: 'refused' },
    { name: 'NUL', target: `${path}%00`, outcome: 'refused' },
    { name: 'overlong UTF-8 /', target: `/x%c0%af..%c0%af${first}${tail}`, outcome: 'refused' },
  ];
}

/** The path with each `{param}` filled in. */
export const fill = (template: string, value = 'x1') => template.replace(/\{[^}]+\}/g, value);

/** A client certificate of the platform, its key, and the CA (what a valid workload holds). */
export interface ClientCredentials {
  cert: string;
  key: string;
  ca: string;
}

/**
 * The gateway's certificate of a `--mtls` run, read from its data directory: the identity the call
 * policy trusts most (it may call every service the edge needs), so what it still cannot do holds
 * for every other.
 */
export async function platformCredentials(dataDir: string): Promise<ClientCredentials> {
  const files = workloadTlsFiles(dataDir, 'gateway');
  const [cert, key, ca] = await Promise.all(
    [files.certFile, files.keyFile, files.caFile].map((file) => readFile(file, 'utf8')),
  );
  return { cert: cert ?? '', key: key ?? '', ca: ca ?? '' };
}

/** Node's TLS options for a gRPC transport presenting `credentials` (the server names no host). */
export const grpcTlsOptions = (credentials: ClientCredentials) => ({
  ...credentials,
  checkServerIdentity: () => undefined,
});

/** GET, then a write where the route takes one: what an attacker sends to a guarded route. */
export async function attempt(
  base: string,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  tls?: ClientCredentials,
) {
  const hasBody = method !== 'GET' && method !== 'DELETE';
  return rawRequest(base, target, {
    method,
    headers,
    ...(hasBody ? { body: { outage: true, decline_rate: 1 } } : {}),
    ...(tls ? { tls } : {}),
  });
}

/** Business rows in every service's database, counted: what an attack must leave as it found it. */
const businessTables: Record<string, string[]> = {
  // Not refresh tokens: every login makes one, and the suite signs in all along.
  identity: ['users'],
  customer: ['customers'],
  catalog: ['products', 'categories'],
  pricing: ['prices', 'discounts'],
  inventory: ['stock_levels', 'reservations'],
  payment_provider: ['payment_intents', 'refunds'],
  payment: ['payments', 'refunds'],
  order: ['es_events', 'order_requests', 'saga_instances'],
  carrier: ['shipments'],
  fulfillment: ['shipments'],
  smtp_sink: ['mails'],
  notification: ['notifications'],
  order_view: ['read_model_generations'],
  analytics: ['read_model_generations'],
};

export async function countRows(dataDir: string, port: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [database, tables] of Object.entries(businessTables)) {
    const client = await superuserClient(dataDir, port, database);
    try {
      for (const table of tables) {
        const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
        counts[`${database}.${table}`] = rows[0]?.n ?? -1;
      }
      // Blocked users count as a change too.
      if (database === 'identity') {
        const { rows } = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM users WHERE blocked_at IS NOT NULL',
        );
        counts['identity.blocked_users'] = rows[0]?.n ?? -1;
      }
    } finally {
      await client.end();
    }
  }
  return counts;
}

/** Where a string field sits in a request message, and the message that carries a bad value there. */
export interface TextFieldCase {
  field: string;
  message: Record<string, unknown>;
}

const STRING = 9; // ScalarType.STRING

/** A message with `value` in one string field (nested messages and lists of them included). */
function casesOf(message: DescMessage, value: string, depth = 0): TextFieldCase[] {
  if (depth > 2) return [];
  const cases: TextFieldCase[] = [];
  const add = (
    field: DescField,
    inner: TextFieldCase[],
    wrap: (m: Record<string, unknown>) => unknown,
    path: string,
  ) => {
    for (const nested of inner)
      cases.push({ field: `${path}.${nested.field}`, message: { [field.localName]: wrap(nested.message) } });
  };
  for (const field of message.fields) {
    if (field.fieldKind === 'scalar' && field.scalar === STRING)
      cases.push({ field: field.localName, message: { [field.localName]: value } });
    else if (field.fieldKind === 'list' && field.listKind === 'scalar' && field.scalar === STRING)
      cases.push({ field: `${field.localName}.0`, message: { [field.localName]: [value] } });
    else if (field.fieldKind === 'message')
      add(field, casesOf(field.message, value, depth + 1), (m) => m, field.localName);
    else if (field.fieldKind === 'list' && field.listKind === 'message')
      add(field, casesOf(field.message, value, depth + 1), (m) => [m], `${field.localName}.0`);
  }
  return cases;
}

export interface GrpcRefusal {
  method: string;
  field: string;
  code: number | undefined;
  named: string | undefined;
}

/**
 * Calls every method of `service` once per string field of its request, with `value` in that
 * field, and reports what each call answered: the status and the field the error named.
 */
export async function sweepGrpcService(
  service: DescService,
  url: string,
  value: string,
  tls?: ClientCredentials,
): Promise<GrpcRefusal[]> {
  const transport = createGrpcTransport({
    baseUrl: url,
    ...(tls ? { nodeOptions: grpcTlsOptions(tls) } : {}),
  });
  const client = createClient(service, transport) as unknown as Record<
    string,
    (input: unknown, options?: { timeoutMs?: number }) => unknown
  >;
  const results: GrpcRefusal[] = [];
  for (const method of service.methods) {
    if (method.methodKind !== 'unary' && method.methodKind !== 'server_streaming') continue;
    for (const { field, message } of casesOf(method.input, value)) {
      let code: number | undefined;
      let named: string | undefined;
      try {
        const answer = client[method.localName]?.(message, { timeoutMs: 3_000 });
        if (method.methodKind === 'server_streaming')
          for await (const _ of answer as AsyncIterable<unknown>) break;
        else await answer;
      } catch (error) {
        const failure = ConnectError.from(error);
        code = failure.code;
        const details = failure.metadata.get('mercato-error-details');
        const parsed = details
          ? (JSON.parse(decodeURIComponent(details)) as { errors?: Array<{ field: string }> })
          : undefined;
        named = parsed?.errors?.[0]?.field;
      }
      results.push({ method: `${service.typeName}/${method.name}`, field, code, named });
    }
  }
  return results;
}

/** The SSE stream of a response, read as it comes: its text, and whether it has ended. */
export function readStream(answer: Response) {
  const seen = { text: '', ended: false };
  void (async () => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of answer.body ?? []) seen.text += decoder.decode(chunk as Uint8Array);
    } catch {
      // The test left.
    }
    seen.ended = true;
  })();
  return seen;
}

/** The `id:` of the last `order` event a stream delivered. */
export const lastOrderEventId = (text: string): string | undefined =>
  [...text.matchAll(/id: (\S+)\nevent: order\n/g)].at(-1)?.[1];

export type { RawAnswer };
