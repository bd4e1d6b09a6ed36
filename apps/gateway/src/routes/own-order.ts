import { mayRead, notFound, type Principal } from '@mercato/chassis';
import type { Order } from '@mercato/contracts/grpc/order';
import type { FastifyRequest } from 'fastify';
import type { Identification } from '../auth/identification.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { isLegacyOrderId, legacyOrder } from './legacy-order.ts';

/**
 * The order, if the caller may see it (its customer, or an admin), from order itself (or, for one
 * the monolith took, from order-view: `legacy-order.ts`). Anyone
 * else's order is the same 404 as an order that does not exist: its id tells a stranger nothing.
 */
export async function requireOwnOrder(
  upstreams: Upstreams,
  identification: Identification,
  request: FastifyRequest,
  orderId: string,
  asOf = '',
): Promise<{ order: Order; principal: Principal; fromMonolith: boolean }> {
  const principal = await identification.requirePrincipal(request);
  let { order } = await upstreams
    .for(request)
    .order.client.getOrder({ orderId, asOf })
    .catch((error: unknown) => {
      if ((error as { kind?: string }).kind === 'not_found') return { order: undefined };
      throw error;
    });
  // One the monolith took (its history is order-view's since the take-over): as it stands now only.
  const fromMonolith = !order && asOf === '' && isLegacyOrderId(orderId);
  if (fromMonolith) order = await legacyOrder(upstreams, request, orderId);
  if (!order || !mayRead(principal, order.customerId))
    throw notFound('ORDER.NOT_FOUND', `No order ${orderId}`);
  return { order, principal, fromMonolith };
}
