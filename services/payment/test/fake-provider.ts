import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Intent {
  id: string;
  order_id: string;
  amount: number;
  currency: string;
  status: 'requires_capture' | 'succeeded' | 'canceled';
  amount_received: number;
  amount_refunded: number;
}

interface Answer {
  status: number;
  body: unknown;
}

/**
 * A small Stripe-like provider for payment's tests: intents authorized, captured, cancelled and
 * refunded; idempotency keys (a key's first answer is stored and replayed, a repeat that arrives
 * while the first is being worked on waits for it); requests that can be held until released, as
 * a slow provider's; and its books, to count what was really charged and refunded.
 */
export async function startFakeProvider() {
  const intents = new Map<string, Intent>();
  const refunds: { id: string; intent: string; amount: number }[] = [];
  const keys = new Map<string, Promise<Answer>>();
  const requests: { method: string; path: string; key: string | undefined }[] = [];
  const held: { pattern: RegExp; released: Promise<void>; release: () => void }[] = [];

  const work = (method: string, url: URL, body: Record<string, unknown>): Answer => {
    const path = url.pathname;
    if (method === 'GET' && path === '/v1/payment_intents') {
      const orderId = url.searchParams.get('order_id');
      return { status: 200, body: { data: [...intents.values()].filter((i) => i.order_id === orderId) } };
    }
    if (method === 'POST' && path === '/v1/payment_intents') {
      const metadata = body.metadata as { order_id: string };
      const intent: Intent = {
        id: `pi_${intents.size + 1}`,
        order_id: metadata.order_id,
        amount: Number(body.amount),
        currency: String(body.currency),
        status: 'requires_capture',
        amount_received: 0,
        amount_refunded: 0,
      };
      intents.set(intent.id, intent);
      return { status: 200, body: intent };
    }
    const action = /^\/v1\/payment_intents\/([^/]+)\/(capture|cancel)$/.exec(path);
    if (method === 'POST' && action) {
      const intent = intents.get(decodeURIComponent(action[1] ?? ''));
      if (!intent) return { status: 404, body: { error: { code: 'resource_missing' } } };
      if (action[2] === 'capture')
        Object.assign(intent, { status: 'succeeded', amount_received: intent.amount });
      else intent.status = 'canceled';
      return { status: 200, body: intent };
    }
    if (method === 'POST' && path === '/v1/refunds') {
      const intent = intents.get(String(body.payment_intent));
      const left = intent ? intent.amount_received - intent.amount_refunded : 0;
      if (!intent || left <= 0) return { status: 400, body: { error: { code: 'charge_already_refunded' } } };
      intent.amount_refunded += left;
      const refund = { id: `re_${refunds.length + 1}`, intent: intent.id, amount: left };
      refunds.push(refund);
      return { status: 200, body: { id: refund.id, amount: left } };
    }
    return { status: 404, body: { error: { code: 'no_route' } } };
  };

  const answer = async (request: IncomingMessage, raw: string): Promise<Answer> => {
    const url = new URL(request.url ?? '/', 'http://provider');
    const method = request.method ?? 'GET';
    const key = request.headers['idempotency-key'] as string | undefined;
    requests.push({ method, path: url.pathname, key });
    const hold = held.find((h) => h.pattern.test(`${method} ${url.pathname}`));
    if (hold) await hold.released;
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    if (!key) return work(method, url, body);
    const first = keys.get(key);
    if (first) return first;
    const answered = Promise.resolve().then(() => work(method, url, body));
    keys.set(key, answered);
    return answered;
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let raw = '';
    request.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    request.on('end', () => {
      void answer(request, raw).then(({ status, body }) => {
        response.statusCode = status;
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    intents,
    refunds,
    /** Requests matching `pattern` (`POST /v1/payment_intents`) wait until the returned release. */
    hold(pattern: RegExp): () => void {
      let release: () => void = () => undefined;
      const released = new Promise<void>((resolve) => (release = resolve));
      const entry = { pattern, released, release };
      held.push(entry);
      return () => {
        held.splice(held.indexOf(entry), 1);
        release();
      };
    },
    /** Net money kept per order: captured minus refunded. */
    kept(orderId: string): number {
      return [...intents.values()]
        .filter((intent) => intent.order_id === orderId)
        .reduce((sum, intent) => sum + intent.amount_received - intent.amount_refunded, 0);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
