import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { moveOrder, type OrderStatus, orderStatuses } from './order-status.ts';

describe('order status', () => {
  it('goes placed → paid → shipped → delivered, and cancels before shipping with the stock back', () => {
    expect(moveOrder('placed', 'paid')).toEqual({ ok: true, value: { status: 'paid', restock: false } });
    expect(moveOrder('paid', 'shipped')).toEqual({ ok: true, value: { status: 'shipped', restock: false } });
    expect(moveOrder('shipped', 'delivered').ok).toBe(true);
    expect(moveOrder('placed', 'cancelled')).toEqual({
      ok: true,
      value: { status: 'cancelled', restock: true },
    });
    expect(moveOrder('paid', 'cancelled').ok).toBe(true);
    expect(moveOrder('shipped', 'cancelled')).toEqual({
      ok: false,
      error: { reason: 'bad_transition', from: 'shipped', to: 'cancelled' },
    });
  });

  it('whatever moves are tried, stock goes back at most once and nothing leaves delivered or cancelled', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...orderStatuses), { maxLength: 30 }), (tries) => {
        let status: OrderStatus = 'placed';
        let restocked = 0;
        for (const to of tries) {
          const moved = moveOrder(status, to);
          if (!moved.ok) continue;
          expect(['delivered', 'cancelled']).not.toContain(status);
          expect(moved.value.status).not.toBe(status);
          if (moved.value.restock) restocked += 1;
          status = moved.value.status;
        }
        expect(restocked).toBeLessThanOrEqual(1);
        expect(restocked === 1).toBe(status === 'cancelled');
      }),
    );
  });
});
