/**
 * Where an order stream (StreamOrders, `GET /api/orders/live` and `/api/orders/:id/live`) resumes:
 * the `resume_after` of the last change a client saw, sent back as `Last-Event-ID`. Parsed here,
 * by the edge and by the order service alike, so that a value the database could not hold (an
 * xid8 or bigint out of range) is refused at both, not failed on.
 */

/** A customer stream's position in the order log: `<transaction id>.<global position>`. */
export interface OrderLogPosition {
  transactionId: string;
  globalPosition: string;
}

const MAX_TRANSACTION_ID = 2n ** 64n - 1n; // xid8
const MAX_GLOBAL_POSITION = 2n ** 63n - 1n; // bigint
const MAX_STREAM_VERSION = 2 ** 31 - 1; // integer

/** A customer stream's resume point, or undefined when it is not one (malformed or out of range). */
export function parseOrderLogPosition(text: string): OrderLogPosition | undefined {
  const match = /^(\d{1,20})\.(\d{1,19})$/.exec(text);
  if (!match?.[1] || !match[2]) return undefined;
  const [transactionId, globalPosition] = [BigInt(match[1]), BigInt(match[2])];
  if (transactionId > MAX_TRANSACTION_ID || globalPosition > MAX_GLOBAL_POSITION) return undefined;
  return { transactionId: transactionId.toString(), globalPosition: globalPosition.toString() };
}

export const formatOrderLogPosition = (position: OrderLogPosition): string =>
  `${position.transactionId}.${position.globalPosition}`;

/** One order's stream resumes after a version of that order; undefined when it is not one. */
export function parseOrderStreamVersion(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const version = Number(text);
  return version <= MAX_STREAM_VERSION ? version : undefined;
}
