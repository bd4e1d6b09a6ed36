import { AppError, conflict, notFound } from '@mercato/chassis';
import type { OrderStatus } from './order-status.ts';

export interface Shortage {
  productId: number;
  requested: number;
  available: number;
}

/** The monolith's stable error codes, all in one place. */
export const legacyErrors = {
  notFound: (what: 'Customer' | 'Product' | 'Order', id: number) =>
    notFound('LEGACY.NOT_FOUND', `${what} ${id} does not exist`),
  emailTaken: (email: string) =>
    conflict('LEGACY.EMAIL_TAKEN', `A customer with email ${email} already exists`, { email }),
  badCredentials: () =>
    new AppError({
      code: 'LEGACY.BAD_CREDENTIALS',
      kind: 'unauthenticated',
      message: 'Wrong email or password',
    }),
  unknownCustomer: (customerId: number) =>
    new AppError({
      code: 'LEGACY.UNKNOWN_CUSTOMER',
      kind: 'unprocessable',
      message: `Customer ${customerId} does not exist`,
      details: { errors: [{ field: 'body.customerId', message: `unknown customer ${customerId}` }] },
    }),
  unknownProducts: (productIds: number[]) =>
    new AppError({
      code: 'LEGACY.UNKNOWN_PRODUCT',
      kind: 'unprocessable',
      message: `No such product: ${productIds.join(', ')}`,
      details: { productIds },
    }),
  outOfStock: (shortages: Shortage[]) =>
    conflict(
      'LEGACY.OUT_OF_STOCK',
      `Not enough stock for product ${shortages.map((s) => s.productId).join(', ')}`,
      { shortages },
    ),
  orderTooLarge: (totalCents: number) =>
    new AppError({
      code: 'LEGACY.ORDER_TOO_LARGE',
      kind: 'unprocessable',
      message: `An order's total must stay below 2^31 cents (this one comes to ${totalCents})`,
    }),
  capabilityMoved: (name: string) =>
    conflict(
      'LEGACY.CAPABILITY_MOVED',
      name === 'orders'
        ? 'The services take new orders now: place this one with theirs (POST /api/orders); this shop finishes the orders it took'
        : name === 'registrations'
          ? 'The services sign customers up now: register with theirs (POST /api/auth/register)'
          : `The services write ${name} now: send this change through the edge (PATCH /legacy/api/customers/:id goes to them)`,
      { capability: name },
    ),
  backThroughServices: (name: string) =>
    conflict(
      'LEGACY.BACK_THROUGH_SERVICES',
      name === 'orders'
        ? 'The services take new orders: they give them back (mercato migrate move orders --back) with the stock they hold of this shop; taken back here, it would be sold twice'
        : `The services write ${name}: they give it back (mercato migrate move ${name} --back), once the monolith has every change they made`,
      { capability: name },
    ),
  stillWrites: (capabilities: string[]) =>
    conflict(
      'LEGACY.STILL_WRITES',
      `The monolith still writes ${capabilities.join(', ')}: move ${capabilities.length === 1 ? 'it' : 'them'} to the services first (mercato migrate move ${capabilities[0]})`,
      { capabilities },
    ),
  ordersUnfinished: (unfinished: Record<string, number>, examples: number[]) =>
    conflict(
      'LEGACY.ORDERS_UNFINISHED',
      `The monolith has orders to finish before it retires (${Object.entries(unfinished)
        .map(([status, count]) => `${count} ${status}`)
        .join(', ')}; e.g. order ${examples.join(', ')}): deliver or cancel them (POST /api/orders/statuses)`,
      { unfinished, examples },
    ),
  retired: () =>
    conflict('LEGACY.RETIRED', 'The monolith is retired: the services write everything it wrote'),
  badTransition: (from: OrderStatus, to: OrderStatus, orderId?: number) =>
    conflict(
      'LEGACY.BAD_TRANSITION',
      `${orderId === undefined ? 'An order' : `Order ${orderId}`} cannot move from ${from} to ${to}`,
      { from, to, ...(orderId === undefined ? {} : { orderId }) },
    ),
};
