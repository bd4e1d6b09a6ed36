import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineSaga } from './saga-definition.ts';
import {
  advanceSaga,
  isFinished,
  type Outgoing,
  type SagaState,
  startSaga,
  type Transition,
} from './saga-state.ts';

interface PlaceOrder {
  orderId: string;
  reservationId?: string;
  paymentId?: string;
}

const command = (destination: string, type: string) => (data: PlaceOrder) => ({
  destination,
  type,
  payload: { ...data },
});

const placeOrder = defineSaga<PlaceOrder>('place-order', { maxCompensationAttempts: 3 })
  .step('reserve inventory')
  .invoke(command('inventory.commands', 'reserve'))
  .onReply((data, reply) => ({ ...data, reservationId: String(reply.reservation_id) }))
  .withCompensation(command('inventory.commands', 'release'))
  .timeout(5_000)
  .step('take payment')
  .invoke(command('payment.commands', 'charge'))
  .onReply((data, reply) => ({ ...data, paymentId: String(reply.payment_id) }))
  .withCompensation(command('payment.commands', 'refund'))
  .timeout(10_000)
  .step('confirm order')
  .invoke(command('order.commands', 'confirm'))
  .timeout(5_000)
  .build();

const started = () => startSaga(placeOrder, 'saga_1', { orderId: 'ord_1' }, 0);

type Answer = { success: true; reply?: Record<string, unknown> } | { success: false; reason: string };

/** The saga after the participant answers the command it was sent last. */
const answer = (saga: Transition<PlaceOrder>, reply: Answer, now: number) =>
  advanceSaga(
    placeOrder,
    saga.state,
    { type: 'reply', requestId: saga.send[0]?.requestId ?? '', ...reply },
    now,
  );

/** The saga after the command it was sent last timed out. */
const timeOut = (saga: Transition<PlaceOrder>, now: number) =>
  advanceSaga(placeOrder, saga.state, { type: 'timeout', requestId: saga.send[0]?.requestId ?? '' }, now);

describe('the saga state machine', () => {
  it('runs its steps in order and completes, carrying what replies added', () => {
    let saga = started();
    expect(saga.send.map((out) => out.command.type)).toEqual(['reserve']);
    saga = answer(saga, { success: true, reply: { reservation_id: 'res_9' } }, 1);
    expect(saga.send.map((out) => [out.command.type, out.command.payload.reservationId])).toEqual([
      ['charge', 'res_9'],
    ]);
    saga = answer(saga, { success: true, reply: { payment_id: 'pay_3' } }, 2);
    saga = answer(saga, { success: true }, 3);
    expect(saga.state).toMatchObject({
      status: 'completed',
      pending: null,
      data: { reservationId: 'res_9', paymentId: 'pay_3' },
    });
    expect(saga.send).toEqual([]);
  });

  it('compensates backwards when a step fails, not the step that failed', () => {
    let saga = answer(started(), { success: true, reply: { reservation_id: 'r' } }, 1);
    saga = answer(saga, { success: false, reason: 'card declined' }, 2);
    expect(saga.send.map((out) => out.command.type)).toEqual(['release']);
    saga = answer(saga, { success: true }, 3);
    expect(saga.state).toMatchObject({ status: 'compensated', reason: 'take payment failed: card declined' });
  });

  it('compensates a step that timed out too, and ignores its late reply', () => {
    const begun = started();
    const reserve = begun.send[0]?.requestId ?? '';
    const { state, send } = timeOut(begun, 5_000);
    expect(send.map((out) => out.command.type)).toEqual(['release']);
    const late = advanceSaga(
      placeOrder,
      state,
      { type: 'reply', requestId: reserve, success: true, reply: { reservation_id: 'r' } },
      6_000,
    );
    expect(late.ignored).toBe('stale');
    expect(late.state).toBe(state);
  });

  it('retries a failing compensation, then stops FAILED with the reason', () => {
    let saga = answer(started(), { success: true, reply: { reservation_id: 'r' } }, 1);
    saga = timeOut(saga, 20_000);
    const keys = new Set<string>();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      keys.add(saga.send[0]?.idempotencyKey ?? '');
      saga = answer(saga, { success: false, reason: 'provider down' }, 30_000);
    }
    expect(saga.state.status).toBe('failed');
    expect(saga.state.reason).toMatch(/could not undo take payment after 3 attempts/);
    // Every retry of one compensation carries the same idempotency key.
    expect(keys).toEqual(new Set(['saga_1:1:compensate']));
  });

  it('accepts the success of an earlier attempt of the pending compensation (it is idempotent), not its failure', () => {
    let saga = answer(started(), { success: true, reply: { reservation_id: 'r1' } }, 1_000);
    saga = timeOut(saga, 20_000); // take payment timed out: refund it, then release
    const firstRefund = saga.send[0]?.requestId ?? '';
    saga = timeOut(saga, 40_000); // the refund is slow: sent again
    expect(saga.send[0]?.requestId).not.toBe(firstRefund);
    expect(saga.state.pending?.deadline).toBe(40_000 + 2 * 10_000);
    const lateFailure = advanceSaga(
      placeOrder,
      saga.state,
      { type: 'reply', requestId: firstRefund, success: false, reason: 'x' },
      41_000,
    );
    expect(lateFailure.ignored).toBe('stale');
    const lateSuccess = advanceSaga(
      placeOrder,
      saga.state,
      { type: 'reply', requestId: firstRefund, success: true },
      41_000,
    );
    expect(lateSuccess.ignored).toBeUndefined();
    expect(lateSuccess.send.map((out) => out.command.type)).toEqual(['release']);
  });

  it('whatever replies, duplicates, timeouts and restarts, ends finished with exactly the done steps undone, backwards', () => {
    const event = fc.record({
      outcome: fc.constantFrom('success', 'failure', 'timeout'),
      duplicateOfEarlier: fc.boolean(),
      restart: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 40 }), (events) => {
        let { state, send } = started();
        const sent: Outgoing[] = [...send];
        let now = 0;
        let compensationStartedWith: number[] | undefined;
        for (const next of events) {
          if (isFinished(state.status)) break;
          now += 1_000;
          const pending = state.pending;
          if (!pending) break;
          // A reply to something sent earlier arrives again: it must change nothing (unless it is an
          // earlier attempt of the compensation now pending, whose success is accepted; see below).
          if (next.duplicateOfEarlier && sent.length > 1) {
            const old = sent[Math.floor(sent.length / 2)];
            const samePendingWork = old?.idempotencyKey === pending.requestId.replace(/:\d+$/, '');
            if (old && old.requestId !== pending.requestId && !samePendingWork) {
              const dup = advanceSaga(
                placeOrder,
                state,
                { type: 'reply', requestId: old.requestId, success: true },
                now,
              );
              expect(dup.ignored).toBe('stale');
              expect(dup.send).toEqual([]);
            }
          }
          const before: SagaState<PlaceOrder> = state;
          const result = advanceSaga(
            placeOrder,
            state,
            next.outcome === 'timeout'
              ? { type: 'timeout', requestId: pending.requestId }
              : next.outcome === 'success'
                ? {
                    type: 'reply',
                    requestId: pending.requestId,
                    success: true,
                    reply: { reservation_id: 'r', payment_id: 'p' },
                  }
                : { type: 'reply', requestId: pending.requestId, success: false, reason: 'no' },
            now,
          );
          state = result.state;
          sent.push(...result.send);
          if (before.status === 'running' && state.status !== 'running' && state.status !== 'completed')
            compensationStartedWith = [...state.done];
          // A restart: the state as persisted (JSON) is all the next transition gets.
          if (next.restart) state = JSON.parse(JSON.stringify(state)) as SagaState<PlaceOrder>;
          // Never a step forward once compensation began.
          if (compensationStartedWith)
            expect(result.send.every((out) => out.kind === 'compensate')).toBe(true);
        }
        // Drive to the end: every later reply succeeds.
        for (let guard = 0; guard < 20 && state.pending; guard += 1) {
          now += 1_000;
          const result = advanceSaga(
            placeOrder,
            state,
            {
              type: 'reply',
              requestId: state.pending.requestId,
              success: true,
              reply: { reservation_id: 'r', payment_id: 'p' },
            },
            now,
          );
          if (
            state.status === 'running' &&
            result.state.status !== 'running' &&
            result.state.status !== 'completed'
          )
            compensationStartedWith = [...result.state.done];
          state = result.state;
          sent.push(...result.send);
        }
        expect(isFinished(state.status)).toBe(true);
        const compensated = [
          ...new Set(sent.filter((out) => out.kind === 'compensate').map((out) => out.step)),
        ];
        if (state.status === 'completed') {
          expect(compensated).toEqual([]);
          expect(state.done).toEqual([0, 1, 2]);
        } else {
          // The steps done when compensation began that have a compensation, last first.
          const expected = [...(compensationStartedWith ?? [])].reverse().filter((step) => step < 2);
          if (state.status === 'compensated') expect(compensated).toEqual(expected);
          else expect(expected.slice(0, compensated.length)).toEqual(compensated);
        }
      }),
    );
  });

  it('refuses a definition without a timeout on every step', () => {
    expect(() => defineSaga<PlaceOrder>('bad').step('a').invoke(command('q', 't')).build()).toThrow(
      /needs a timeout/,
    );
  });
});
