import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '@mercato/chassis';
import type { SummaryListQuery, SummaryPage } from '../../application/order-summaries.port.ts';
import {
  type Consistency,
  MAX_CONSISTENCY_WAIT_MS,
  type OrderViewQueries,
} from '../../application/order-view-queries.ts';

const NOT_CAUGHT_UP = 'ORDER_VIEW.NOT_CAUGHT_UP';

/** The one answer for an order not there at the version asked, whoever's it is or is not. */
const notCaughtUp = ({ orderId, minVersion }: Consistency) =>
  new AppError({
    code: NOT_CAUGHT_UP,
    kind: 'unavailable',
    retryAfterSeconds: 1,
    message: `order-view has not caught up with order ${orderId} at version ${minVersion} yet; retry shortly`,
  });

/** The customer an order belongs to, as far as the read model knows (undefined: not there yet). */
async function ownerOf(queries: OrderViewQueries, orderId: string): Promise<string | undefined> {
  try {
    return (await queries.summary(orderId, 0, 0)).summary.customerId ?? undefined;
  } catch (error) {
    if (isAppError(error) && error.kind === 'not_found') return undefined;
    throw error;
  }
}

/**
 * A customer's orders, consistent with one of them at a version (read-your-writes), for the
 * caller's own orders only. Another customer's order is answered exactly as an order the read
 * model has never seen: after the same wait, with the same problem, so that neither its existence
 * nor its version can be told from the answer or its timing. (The edge asks order whose order it
 * is before asking here, and answers a stranger 404 at once; this holds for any other caller.)
 */
export async function listConsistentWithOwnOrder(
  queries: OrderViewQueries,
  query: SummaryListQuery & { consistentWith?: Consistency | undefined },
  waitMs: number,
): Promise<SummaryPage> {
  const wanted = query.consistentWith;
  if (!wanted) return queries.list(query, waitMs);
  const began = Date.now();
  const budget = Math.min(waitMs, MAX_CONSISTENCY_WAIT_MS);
  const asIfUnseen = async (): Promise<never> => {
    await sleep(Math.max(0, budget - (Date.now() - began)));
    throw notCaughtUp(wanted);
  };
  const owner = await ownerOf(queries, wanted.orderId);
  if (owner !== undefined && owner !== query.customerId) return asIfUnseen();
  let page: SummaryPage;
  try {
    page = await queries.list(query, waitMs);
  } catch (error) {
    // Its own message says what version the read model has; ours says the same for every case.
    if (isAppError(error) && error.code === NOT_CAUGHT_UP) throw notCaughtUp(wanted);
    throw error;
  }
  // It was not there when asked, and turned up while waiting: the caller's, or as if never seen.
  if (owner === undefined && (await ownerOf(queries, wanted.orderId)) !== query.customerId)
    return asIfUnseen();
  return page;
}
