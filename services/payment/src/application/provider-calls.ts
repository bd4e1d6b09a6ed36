import { isAppError } from '@mercato/chassis';
import type { DataOf, takePayment } from '@mercato/contracts';
import type { PaymentProvider, ProviderIntent } from './payment-provider.port.ts';
import type { Payment } from './payment-store.port.ts';

/** How long after a command's `expires_at` payment keeps trying a provider that is down. */
export const GIVE_UP_GRACE_MS = 5_000;

/** What taking a payment came to at the provider. */
export type Charge =
  | { outcome: 'captured'; intent: ProviderIntent }
  | { outcome: 'declined'; code: string }
  /** The provider stayed down until well after the saga stopped waiting. */
  | { outcome: 'gave_up' };

/**
 * Authorizes and captures the payment's amount, with keys derived from the saga step's, so a repeat
 * replays the provider's first answers. Run with no transaction open (the chassis refuses a call
 * from inside one).
 */
export async function chargeOrder(
  deps: { provider: PaymentProvider; now: () => Date },
  payment: Payment,
  command: DataOf<typeof takePayment>,
  signal: AbortSignal,
): Promise<Charge> {
  const key = command.saga.idempotency_key;
  try {
    const authorization = await deps.provider.authorize(
      { orderId: payment.orderId, amountMinor: payment.amountMinor, currency: payment.currency },
      `${key}:authorize`,
      signal,
    );
    if (authorization.outcome === 'declined') return { outcome: 'declined', code: authorization.code };
    return {
      outcome: 'captured',
      intent: await deps.provider.capture(authorization.intent.id, `${key}:capture`, signal),
    };
  } catch (error) {
    // Given up only well after the saga stopped waiting, so the saga has timed the step out (and
    // will refund whatever may have been charged) before this answer could read as "nothing taken".
    const expired = deps.now().getTime() >= Date.parse(command.expires_at) + GIVE_UP_GRACE_MS;
    if (!isAppError(error) || error.code !== 'PAYMENT.PROVIDER_UNAVAILABLE' || !expired) throw error;
    return { outcome: 'gave_up' };
  }
}

export interface ProviderRefund {
  refundId: string;
  intentId: string;
  amount: number;
  currency: string;
}

/** What returning an order's charges came to: the refunds made, the totals, a refusal if any. */
export interface Returned {
  refunds: ProviderRefund[];
  captured: number;
  refunded: number;
  /** The provider's code when it refused a refund; the refunds before it still stand. */
  failed?: string;
}

/** Cancels every authorized intent of the order and refunds what is left of every captured one. */
export async function returnCharges(
  provider: PaymentProvider,
  command: { orderId: string; key: string },
  signal: AbortSignal,
): Promise<Returned> {
  const { key } = command;
  const returned: Returned = { refunds: [], captured: 0, refunded: 0 };
  for (const intent of await provider.intentsOf(command.orderId, signal)) {
    if (intent.status === 'requires_capture') {
      await provider.cancel(intent.id, `${key}:cancel:${intent.id}`, signal);
      continue;
    }
    if (intent.status !== 'succeeded' || intent.amountReceived === 0) continue;
    returned.captured += intent.amountReceived;
    // Asked even when nothing seems left: a repeat of this request after a crash replays the refund
    // it made (so it is recorded and told), and a refund made under another key answers nothing_left.
    const result = await provider.refund(intent.id, `${key}:refund:${intent.id}`, signal);
    if (result.outcome === 'failed')
      return { ...returned, refunded: returned.refunded + intent.amountRefunded, failed: result.code };
    // A refund without an amount takes all that is left: the intent is refunded in full now.
    returned.refunded += intent.amountReceived;
    if (result.outcome === 'nothing_left') continue;
    returned.refunds.push({
      refundId: result.refundId,
      intentId: intent.id,
      amount: result.amount,
      currency: intent.currency,
    });
  }
  return returned;
}
