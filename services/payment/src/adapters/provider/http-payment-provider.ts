import { AppError, assertOutsideTransaction, JsonHttpClient, type JsonRequest } from '@mercato/chassis';
import type {
  Authorization,
  PaymentProvider,
  ProviderIntent,
  RefundResult,
} from '../../application/payment-provider.port.ts';

interface IntentJson {
  id: string;
  status: ProviderIntent['status'];
  amount: number;
  currency: string;
  amount_received: number;
  amount_refunded: number;
}

interface ErrorJson {
  error?: { type?: string; code?: string; message?: string };
}

const unavailable = (detail: string, cause?: unknown) =>
  new AppError({
    code: 'PAYMENT.PROVIDER_UNAVAILABLE',
    kind: 'unavailable',
    message: `payment provider unavailable: ${detail}`,
    cause,
  });

const toIntent = (json: IntentJson): ProviderIntent => ({
  id: json.id,
  status: json.status,
  amount: json.amount,
  currency: json.currency.toUpperCase(),
  amountReceived: json.amount_received,
  amountRefunded: json.amount_refunded,
});

/**
 * The provider's HTTP API (Stripe-like), with a timeout on every call and idempotency keys on
 * writes, on kept-alive connections (the chassis's `JsonHttpClient`).
 */
export class HttpPaymentProvider implements PaymentProvider {
  readonly #client: JsonHttpClient;

  constructor(baseUrl: string, timeoutMs: number) {
    this.#client = new JsonHttpClient(baseUrl, { timeoutMs });
  }

  async authorize(
    input: { orderId: string; amountMinor: number; currency: string },
    key: string,
    signal?: AbortSignal,
  ): Promise<Authorization> {
    const body = {
      amount: input.amountMinor,
      currency: input.currency.toLowerCase(),
      metadata: { order_id: input.orderId },
    };
    const { status, json } = await this.#call('POST', '/v1/payment_intents', { key, body, signal });
    if (status === 402) return { outcome: 'declined', code: (json as ErrorJson).error?.code ?? 'declined' };
    return { outcome: 'authorized', intent: toIntent(this.#expectOk(status, json) as IntentJson) };
  }

  async capture(intentId: string, key: string, signal?: AbortSignal): Promise<ProviderIntent> {
    const { status, json } = await this.#call(
      'POST',
      `/v1/payment_intents/${encodeURIComponent(intentId)}/capture`,
      { key, signal, route: '/v1/payment_intents/{id}/capture' },
    );
    return toIntent(this.#expectOk(status, json) as IntentJson);
  }

  async cancel(intentId: string, key: string, signal?: AbortSignal): Promise<ProviderIntent> {
    const { status, json } = await this.#call(
      'POST',
      `/v1/payment_intents/${encodeURIComponent(intentId)}/cancel`,
      { key, signal, route: '/v1/payment_intents/{id}/cancel' },
    );
    return toIntent(this.#expectOk(status, json) as IntentJson);
  }

  async refund(intentId: string, key: string, signal?: AbortSignal): Promise<RefundResult> {
    const { status, json } = await this.#call('POST', '/v1/refunds', {
      key,
      body: { payment_intent: intentId },
      signal,
    });
    const code = (json as ErrorJson).error?.code;
    if (status === 400 && code === 'charge_already_refunded') return { outcome: 'nothing_left' };
    if (status === 402) return { outcome: 'failed', code: code ?? 'refund_failed' };
    const refund = this.#expectOk(status, json) as { id: string; amount: number };
    return { outcome: 'refunded', refundId: refund.id, amount: refund.amount };
  }

  async intentsOf(orderId: string, signal?: AbortSignal): Promise<ProviderIntent[]> {
    const { status, json } = await this.#call(
      'GET',
      `/v1/payment_intents?order_id=${encodeURIComponent(orderId)}`,
      { signal, route: '/v1/payment_intents' },
    );
    return ((this.#expectOk(status, json) as { data: IntentJson[] }).data ?? []).map(toIntent);
  }

  async #call(
    method: JsonRequest['method'],
    path: string,
    options: { key?: string; body?: unknown; signal?: AbortSignal | undefined; route?: string } = {},
  ): Promise<{ status: number; json: unknown }> {
    assertOutsideTransaction(`payment provider ${method} ${path}`);
    const { key, body, signal, route } = options;
    let answer: { status: number; body: unknown };
    try {
      answer = await this.#client.request({
        method,
        path,
        route: route ?? path,
        ...(key ? { headers: { 'idempotency-key': key } } : {}),
        body,
        signal,
      });
    } catch (error) {
      throw unavailable(error instanceof Error ? error.message : String(error), error);
    }
    if (answer.status >= 500 || answer.status === 429)
      throw unavailable(`${method} ${path} answered ${answer.status}`);
    return { status: answer.status, json: answer.body ?? {} };
  }

  #expectOk(status: number, json: unknown): unknown {
    if (status >= 200 && status < 300) return json;
    const error = (json as ErrorJson).error;
    // A 4xx we did not expect is our bug or the provider's: fail loudly, do not retry forever.
    throw new AppError({
      code: 'PAYMENT.PROVIDER_REJECTED',
      kind: 'bad_gateway',
      message: `payment provider answered ${status}: ${error?.code ?? ''} ${error?.message ?? ''}`.trim(),
      retryable: false,
    });
  }
}
