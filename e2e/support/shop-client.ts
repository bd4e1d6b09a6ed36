import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { waitFor } from '@mercato/chassis/testing';
import { PaymentService } from '@mercato/contracts/grpc/payment';
import { demoOrderSkus } from '@mercato/demo-shop';
import { type EdgeLoad, steadyLoad } from './edge-load.ts';
import type { RunState } from './platform-process.ts';

export interface OrderJson {
  order_id: string;
  customer_id: string;
  status: string;
  total_minor: number;
  reason: string | null;
  reason_detail: string | null;
  placed_at: string;
  updated_at: string;
  version: number;
  saga: { id: string; status: string; step: string | null; reason: string | null } | null;
}

export interface Knobs {
  decline_rate: number;
  refund_failure_rate: number;
  latency_ms: number;
  outage: boolean;
}

/** Where the PlaceOrder saga leaves an order (fulfillment may take a confirmed one further). */
export interface CarrierKnobs {
  failure_rate: number;
  lost_rate: number;
  delivery_ms: number;
  latency_ms: number;
  outage: boolean;
}

export interface ShipmentJson {
  shipment_id: string;
  order_id: string;
  status: string;
  lines: { sku: string; quantity: number }[];
  tracking_number: string | null;
  reason: string | null;
}

export interface SinkMail {
  id: number;
  message_id: string | null;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export const terminal = new Set(['confirmed', 'shipped', 'delivered', 'cancelled', 'failed']);

/** An order that kept its payment: confirmed, and on its way or arrived. */
export const kept = new Set(['confirmed', 'shipped', 'delivered']);

/** A shopper and an operator of a running platform, talking to it as a client would. */
/**
 * Waits until every order in `ids` has reached a terminal status (read through the gateway with
 * the customer's `token`), then returns their statuses.
 */
export async function settledStatuses(
  gateway: string,
  token: string,
  ids: readonly string[],
): Promise<string[]> {
  const outcome = new Map<string, string>();
  await waitFor(
    'every order placed settled',
    async () => {
      for (const id of ids) {
        if (terminal.has(outcome.get(id) ?? '')) continue;
        const response = await fetch(`${gateway}/api/orders/${id}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        if (response.status === 200) outcome.set(id, ((await response.json()) as OrderJson).status);
      }
      return [...outcome.values()].filter((status) => terminal.has(status)).length === ids.length;
    },
    60_000,
    250,
  );
  return [...outcome.values()];
}

/**
 * Orders placed at a steady rate by one customer (`token`), one item each, cycling through the demo
 * products, with idempotency keys `<prefix>-<n>`; `orderIds` holds every order accepted (202).
 */
export function steadyOrders(
  shop: ShopClient,
  token: string,
  prefix: string,
  perSecond: number,
): EdgeLoad & { orderIds: string[] } {
  let placed = 0;
  const orderIds: string[] = [];
  const load = steadyLoad(async () => {
    placed += 1;
    const sku = demoOrderSkus[placed % demoOrderSkus.length] ?? 'BOK-0001';
    const response = await shop.placeOrder(token, `${prefix}-${placed}`, [{ sku, quantity: 1 }]);
    if (response.status === 202) orderIds.push(((await response.clone().json()) as OrderJson).order_id);
    return response;
  }, perSecond);
  return { ...load, orderIds };
}

export class ShopClient {
  readonly gateway: string;
  readonly #state: () => Promise<RunState>;
  readonly #adminToken: string;
  #grpc = new Map<string, ReturnType<typeof createGrpcTransport>>();

  private constructor(gateway: string, state: () => Promise<RunState>, adminToken: string) {
    this.gateway = gateway;
    this.#state = state;
    this.#adminToken = adminToken;
  }

  static async connect(
    gateway: string,
    dataDir: string,
    state: () => Promise<RunState>,
  ): Promise<ShopClient> {
    const token = (await readFile(path.join(dataDir, 'run', 'admin-token'), 'utf8')).trim();
    return new ShopClient(gateway, state, token);
  }

  /** Registers a customer (identity publishes user.registered; customer creates the profile) and logs in. */
  async customer(email: string): Promise<string> {
    const password = 'correct horse battery staple';
    const post = (route: string, body: unknown) =>
      fetch(`${this.gateway}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await post('/api/auth/register', { email, password, name: email.split('@')[0] });
    const login = (await (await post('/api/auth/login', { email, password })).json()) as {
      access_token: string;
    };
    const token = login.access_token;
    // pricing asks customer for the segment: wait until the profile exists.
    // user.registered crosses the bus first: on a loaded machine that can take more than a moment.
    await waitFor(
      'the customer profile',
      async () => {
        const me = await fetch(`${this.gateway}/api/customers/me`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return me.status === 200;
      },
      30_000,
      50,
    );
    return token;
  }

  /**
   * Places an order as a well-behaved client under load does: a 503 the shop marks retryable (its
   * adaptive limits shed what it cannot take at once) is asked again with the same Idempotency-Key
   * after its Retry-After, for up to `patienceMs`; any other answer is returned as it is.
   */
  async placeOrderPatiently(
    token: string,
    key: string,
    items: { sku: string; quantity: number }[],
    patienceMs = 120_000,
  ): Promise<Response> {
    const giveUpAt = Date.now() + patienceMs;
    for (;;) {
      const response = await this.placeOrder(token, key, items);
      const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
      if (response.status !== 503 || !Number.isFinite(retryAfter) || Date.now() >= giveUpAt) return response;
      await response.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1_000));
    }
  }

  placeOrder(token: string, key: string, items: { sku: string; quantity: number }[]): Promise<Response> {
    return fetch(`${this.gateway}/api/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
        'idempotency-key': key,
      },
      body: JSON.stringify({ items, shipping_address: '1 Main St, Springfield' }),
    });
  }

  async order(token: string, orderId: string, asOf?: string): Promise<OrderJson> {
    const query = asOf ? `?as_of=${encodeURIComponent(asOf)}` : '';
    const response = await fetch(`${this.gateway}/api/orders/${orderId}${query}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (response.status !== 200)
      throw new Error(`GET order ${orderId}: ${response.status} ${await response.text()}`);
    return (await response.json()) as OrderJson;
  }

  /** Waits until the order's saga has finished, and returns the order then. */
  async settled(token: string, orderId: string, timeoutMs = 30_000): Promise<OrderJson> {
    let last: OrderJson | undefined;
    await waitFor(
      `order ${orderId} settling`,
      async () => {
        last = await this.order(token, orderId);
        return (
          terminal.has(last.status) && last.saga?.status !== 'running' && last.saga?.status !== 'compensating'
        );
      },
      timeoutMs,
      100,
    );
    return last as OrderJson;
  }

  async available(sku: string): Promise<{ available: number; reserved: number }> {
    const stock = (await (await fetch(`${this.gateway}/api/inventory/stock/${sku}`)).json()) as {
      available: number;
      reserved: number;
    };
    return { available: stock.available, reserved: stock.reserved };
  }

  /** payment's own record of the order (gRPC GetPayment), or undefined when it has none. */
  async payment(orderId: string) {
    const client = createClient(PaymentService, await this.#transport('payment'));
    try {
      return (await client.getPayment({ orderId })).payment;
    } catch (error) {
      if ((error as { code?: number }).code === 5) return undefined;
      throw error;
    }
  }

  /** The provider's books for the order: what it captured and refunded. */
  async providerLedger(
    orderId: string,
  ): Promise<{ captured: number; refunded: number; net: number; intents: number }> {
    const { orders } = (await this.admin('payment-provider', `/admin/ledger?order_id=${orderId}`)) as {
      orders: { captured: number; refunded: number; net: number; intents: number }[];
    };
    return orders[0] ?? { captured: 0, refunded: 0, net: 0, intents: 0 };
  }

  /** The order's parcel as its owner sees it (status code and body). */
  async shipment(token: string, orderId: string): Promise<{ status: number; body: ShipmentJson }> {
    const response = await fetch(`${this.gateway}/api/orders/${orderId}/shipment`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as ShipmentJson };
  }

  /** The carrier's books: every parcel it was handed for the order. */
  async carrierParcels(orderId: string): Promise<{ id: string; status: string; parcels: unknown[] }[]> {
    const { data } = (await this.admin('carrier', `/v1/shipments?reference=${orderId}`)) as {
      data: { id: string; status: string; parcels: unknown[] }[];
    };
    return data;
  }

  /** What the SMTP sink received for a recipient, newest first. */
  async mails(to: string): Promise<SinkMail[]> {
    const { mails } = (await this.admin(
      'smtp-sink',
      `/admin/mails?to=${encodeURIComponent(to)}&limit=1000`,
    )) as {
      mails: SinkMail[];
    };
    return mails;
  }

  async carrierKnobs(changes: Partial<CarrierKnobs>): Promise<CarrierKnobs> {
    return (await this.admin('carrier', '/admin/knobs', { method: 'PUT', body: changes })) as CarrierKnobs;
  }

  async knobs(changes: Partial<Knobs>): Promise<Knobs> {
    return (await this.admin('payment-provider', '/admin/knobs', { method: 'PUT', body: changes })) as Knobs;
  }

  async admin(
    service: string,
    route: string,
    options: { method?: string; body?: unknown } = {},
  ): Promise<unknown> {
    const url = (await this.#state()).services[service]?.url;
    if (!url) throw new Error(`no ${service} in the run state`);
    const response = await fetch(`${url}${route}`, {
      method: options.method ?? 'GET',
      headers: {
        authorization: `Bearer ${this.#adminToken}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    if (!response.ok) throw new Error(`${service} ${route}: ${response.status} ${await response.text()}`);
    return response.json();
  }

  async metrics(service: string): Promise<string> {
    const url = (await this.#state()).services[service]?.url;
    return (await fetch(`${url}/metrics`)).text();
  }

  async #transport(service: string) {
    let transport = this.#grpc.get(service);
    if (!transport) {
      const state = await this.#state();
      const grpc = state.services[service]?.grpc;
      if (!grpc) throw new Error(`no gRPC address for ${service} in the run state`);
      transport = createGrpcTransport({ baseUrl: grpc });
      this.#grpc.set(service, transport);
    }
    return transport;
  }
}
