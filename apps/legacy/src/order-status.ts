import { fail, ok, type Result } from '@mercato/chassis/result';

export const orderStatuses = ['placed', 'paid', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof orderStatuses)[number];
/** An order the monolith took is finished once delivered or cancelled; it retires only then. */
export const unfinishedStatuses: readonly OrderStatus[] = ['placed', 'paid', 'shipped'];

const next: Record<OrderStatus, readonly OrderStatus[]> = {
  placed: ['paid', 'cancelled'],
  paid: ['shipped', 'cancelled'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
};

export interface Move {
  status: OrderStatus;
  /** A cancelled order's stock goes back on the shelf, in the same transaction. */
  restock: boolean;
}

/** An order moves along placed → paid → shipped → delivered, or is cancelled before it ships. */
export const moveOrder = (
  from: OrderStatus,
  to: OrderStatus,
): Result<Move, { reason: 'bad_transition'; from: OrderStatus; to: OrderStatus }> =>
  next[from].includes(to)
    ? ok({ status: to, restock: to === 'cancelled' })
    : fail({ reason: 'bad_transition', from, to });
