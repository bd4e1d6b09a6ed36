import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineSaga, type SagaDefinition } from './saga-definition.ts';
import {
  advanceSaga,
  isFinished,
  type Outgoing,
  type SagaInput,
  type SagaState,
  startSaga,
  type Transition,
} from './saga-state.ts';

interface Order {
  orderId: string;
  reservationId?: string;
  paymentId?: string;
}

const command = (destination: string, type: string) => (data: Order) => ({
  destination,
  type,
  payload: { ...data },
});

/** PlaceOrder's shape: two compensatable steps, then the pivot. */
const placeOrder = (resends = 2) =>
  defineSaga<Order>('place-order', { maxCompensationAttempts: 3, resends })
    .step('reserve inventory')
    .invoke(command('inventory.commands', 'reserve'))
    .onReply((data, reply) => ({ ...data, reservationId: String(reply.reservation_id) }))
    .withCompensation(command('inventory.commands', 'release'))
    .timeout(3_000)
    .step('take payment')
    .invoke(command('payment.commands', 'charge'))
    .onReply((data, reply) => ({ ...data, paymentId: String(reply.payment_id) }))
    .withCompensation(command('payment.commands', 'refund'))
    .timeout(9_000)
    .step('confirm order')
    .invoke(command('inventory.commands', 'commit'))
    .pivot()
    .timeout(3_000)
    .build();

/** CancelOrder's shape: a compensatable hold, the refund as pivot, then a retriable step. */
const cancelOrder = (resends = 2) =>
  defineSaga<Order>('cancel-order', { maxCompensationAttempts: 3, resends, maxRetryIntervalMs: 20_000 })
    .step('hold shipment')
    .invoke(command('fulfillment.commands', 'hold'))
    .withCompensation(command('fulfillment.commands', 'release'))
    .timeout(3_000)
    .step('refund payment')
    .invoke(command('payment.commands', 'refund'))
    .pivot()
    .timeout(6_000)
    .step('return stock')
    .invoke(command('inventory.commands', 'release'))
    .timeout(3_000)
    .build();

type Answer = { success: true; reply?: Record<string, unknown> } | { success: false; reason: string };

const start = (definition: SagaDefinition<Order>) => startSaga(definition, 'saga_1', { orderId: 'ord_1' }, 0);

/** The saga after the participant answers the request it waits on. */
const answer = (
  definition: SagaDefinition<Order>,
  saga: Transition<Order>,
  reply: Answer,
  now: number,
  requestId = saga.state.pending?.requestId ?? '',
) => advanceSaga(definition, saga.state, { type: 'reply', requestId, ...reply }, now);

/** The saga after the request it waits on timed out. */
const timeOut = (definition: SagaDefinition<Order>, saga: Transition<Order>, now?: number) =>
  advanceSaga(
    definition,
    saga.state,
    { type: 'timeout', requestId: saga.state.pending?.requestId ?? '' },
    now ?? saga.state.pending?.deadline ?? 0,
  );

const types = (saga: Transition<Order>) => saga.send.map((out) => out.command.type);

describe('the saga state machine', () => {
  it('runs its steps in order and completes, carrying what replies added', () => {
    const definition = placeOrder();
    let saga = start(definition);
    expect(types(saga)).toEqual(['reserve']);
    saga = answer(definition, saga, { success: true, reply: { reservation_id: 'res_9' } }, 1);
    expect(saga.send.map((out) => [out.command.type, out.command.payload.reservationId])).toEqual([
      ['charge', 'res_9'],
    ]);
    saga = answer(definition, saga, { success: true, reply: { payment_id: 'pay_3' } }, 2);
    saga = answer(definition, saga, { success: true }, 3);
    expect(saga.state).toMatchObject({
      status: 'completed',
      pending: null,
      data: { reservationId: 'res_9', paymentId: 'pay_3' },
    });
    expect(saga.send).toEqual([]);
  });

  it('compensates backwards when a step fails, not the step that failed', () => {
    const definition = placeOrder();
    let saga = answer(definition, start(definition), { success: true, reply: { reservation_id: 'r' } }, 1);
    saga = answer(definition, saga, { success: false, reason: 'card declined' }, 2);
    expect(types(saga)).toEqual(['release']);
    saga = answer(definition, saga, { success: true }, 3);
    expect(saga.state).toMatchObject({ status: 'compensated', reason: 'take payment failed: card declined' });
  });

  it('resends a step that timed out with the same idempotency key within its timeout, then compensates it; its late reply is ignored', () => {
    const definition = placeOrder();
    let saga = answer(definition, start(definition), { success: true, reply: { reservation_id: 'r' } }, 0);
    const charges: Outgoing[] = [...saga.send];
    // The payment step's 9 s are three attempts of 3 s, each with the deadline of the whole step.
    expect(saga.state.pending?.deadline).toBe(3_000);
    expect(saga.send[0]?.command.payload).toMatchObject({ orderId: 'ord_1' });
    for (const at of [3_000, 6_000]) {
      saga = timeOut(definition, saga, at);
      expect(saga.state.status).toBe('running');
      charges.push(...saga.send);
    }
    expect(charges.map((out) => [out.command.type, out.idempotencyKey, out.requestId])).toEqual([
      ['charge', 'saga_1:1:invoke', 'saga_1:1:invoke:1'],
      ['charge', 'saga_1:1:invoke', 'saga_1:1:invoke:2'],
      ['charge', 'saga_1:1:invoke', 'saga_1:1:invoke:3'],
    ]);
    expect(saga.state.pending?.deadline).toBe(9_000);
    saga = timeOut(definition, saga, 9_000);
    // It may have charged: refunded first, then the reservation released.
    expect(types(saga)).toEqual(['refund']);
    expect(saga.state).toMatchObject({ status: 'compensating', reason: 'take payment timed out' });
    const late = answer(
      definition,
      saga,
      { success: true, reply: { payment_id: 'p' } },
      9_500,
      'saga_1:1:invoke:3',
    );
    expect(late.ignored).toBe('stale');
    expect(late.state).toBe(saga.state);
  });

  it('gives every attempt of a step the deadline of the whole step, for a command that expires', () => {
    const definition = placeOrder();
    const deadlines: number[] = [];
    const expiring = {
      ...definition,
      steps: definition.steps.map((step) => ({
        ...step,
        invoke: (data: Order, at: { deadline: number }) => {
          deadlines.push(at.deadline);
          return step.invoke(data, at);
        },
      })),
    };
    let saga = startSaga(expiring, 'saga_1', { orderId: 'o' }, 100);
    saga = timeOut(expiring, saga, 1_100);
    saga = timeOut(expiring, saga, 2_100);
    expect(deadlines).toEqual([3_100, 3_100, 3_100]);
  });

  it('accepts the success of an earlier attempt of the pending step (participants dedupe on the key), not its failure', () => {
    const definition = placeOrder();
    let saga = answer(definition, start(definition), { success: true, reply: { reservation_id: 'r' } }, 0);
    saga = timeOut(definition, saga, 3_000);
    const lateFailure = answer(definition, saga, { success: false, reason: 'x' }, 3_500, 'saga_1:1:invoke:1');
    expect(lateFailure.ignored).toBe('stale');
    const lateSuccess = answer(
      definition,
      saga,
      { success: true, reply: { payment_id: 'p1' } },
      3_500,
      'saga_1:1:invoke:1',
    );
    expect(lateSuccess.ignored).toBeUndefined();
    expect(lateSuccess.state.data.paymentId).toBe('p1');
    expect(types(lateSuccess)).toEqual(['commit']);
  });

  it('retries a failing compensation, then stops FAILED with the reason', () => {
    const definition = placeOrder(0);
    let saga = answer(definition, start(definition), { success: true, reply: { reservation_id: 'r' } }, 1);
    saga = timeOut(definition, saga, 20_000);
    const keys = new Set<string>();
    for (let attempt = 0; attempt < 3; attempt += 1) {
      keys.add(saga.send[0]?.idempotencyKey ?? '');
      saga = answer(definition, saga, { success: false, reason: 'provider down' }, 30_000);
    }
    expect(saga.state.status).toBe('failed');
    expect(saga.state.reason).toMatch(/could not undo take payment after 3 attempts/);
    // Every retry of one compensation carries the same idempotency key.
    expect(keys).toEqual(new Set(['saga_1:1:compensate']));
  });

  it('waits longer on each retry of a compensation, and accepts an earlier attempt’s success', () => {
    const definition = placeOrder(0);
    let saga = answer(
      definition,
      start(definition),
      { success: true, reply: { reservation_id: 'r1' } },
      1_000,
    );
    saga = timeOut(definition, saga, 20_000); // take payment timed out: refund it, then release
    const firstRefund = saga.send[0]?.requestId ?? '';
    saga = timeOut(definition, saga, 40_000); // the refund is slow: sent again
    expect(saga.send[0]?.requestId).not.toBe(firstRefund);
    expect(saga.state.pending?.deadline).toBe(40_000 + 2 * 9_000);
    expect(answer(definition, saga, { success: false, reason: 'x' }, 41_000, firstRefund).ignored).toBe(
      'stale',
    );
    const lateSuccess = answer(definition, saga, { success: true }, 41_000, firstRefund);
    expect(types(lateSuccess)).toEqual(['release']);
  });

  describe('at and after the pivot (CancelOrder: hold → refund → return stock)', () => {
    const definition = cancelOrder();
    const held = () => answer(definition, start(definition), { success: true }, 0);

    it('never compensates a pivot that stopped answering: resends it with the same key, stuck, until it answers', () => {
      let saga = held();
      const refunds: Outgoing[] = [...saga.send];
      const waits: number[] = [];
      for (let round = 0; round < 8; round += 1) {
        const at = saga.state.pending?.deadline ?? 0;
        saga = timeOut(definition, saga, at);
        refunds.push(...saga.send);
        waits.push((saga.state.pending?.deadline ?? 0) - at);
      }
      expect(refunds.every((out) => out.command.type === 'refund')).toBe(true);
      expect(new Set(refunds.map((out) => out.idempotencyKey))).toEqual(new Set(['saga_1:1:invoke']));
      expect(refunds).toHaveLength(9);
      expect(saga.state).toMatchObject({
        status: 'stuck',
        stuck: { step: 'refund payment', attempts: 8, why: 'refund payment timed out (8 attempts)' },
      });
      expect(saga.state.stuck?.since).toBe(6_000);
      // Three attempts of 2 s within the step's 6 s; beyond, twice as long each time, up to 20 s.
      expect(waits).toEqual([2_000, 2_000, 4_000, 8_000, 16_000, 20_000, 20_000, 20_000]);
      expect(advanceSaga(definition, saga.state, { type: 'abort', reason: 'x' }, 1).ignored).toBe(
        'past_pivot',
      );

      // The provider is back: any attempt's success moves it on, never backwards.
      saga = answer(definition, saga, { success: true }, 200_000, 'saga_1:1:invoke:2');
      expect(types(saga)).toEqual(['release']);
      expect(saga.state).toMatchObject({ status: 'running', stuck: null, reason: null });
      saga = answer(definition, saga, { success: true }, 200_001);
      expect(saga.state.status).toBe('completed');
    });

    it('compensates the steps before the pivot when the pivot answers it did nothing', () => {
      let saga = timeOut(definition, held());
      saga = answer(definition, saga, { success: false, reason: 'refund_failed:card_closed' }, 3_000);
      expect(saga.send.map((out) => [out.command.type, out.kind])).toEqual([['release', 'compensate']]);
      expect(saga.state.reason).toBe('refund payment failed: refund_failed:card_closed');
    });

    it('retries a retriable step that fails after a backoff, never compensating; stuck once its attempts are used', () => {
      let saga = answer(definition, held(), { success: true }, 1_000);
      expect(types(saga)).toEqual(['release']);
      const waits: number[] = [];
      for (let round = 0; round < 7; round += 1) {
        const now = (saga.state.pending?.deadline ?? 0) - 1;
        saga = answer(definition, saga, { success: false, reason: 'db down' }, now);
        expect(saga.send).toEqual([]);
        // A repeat of that failure is stale; the backoff's end sends the next attempt.
        expect(answer(definition, saga, { success: false, reason: 'db down' }, now).ignored).toBe('stale');
        waits.push((saga.state.pending?.deadline ?? 0) - now);
        saga = timeOut(definition, saga);
        expect(saga.send.map((out) => [out.command.type, out.kind, out.idempotencyKey])).toEqual([
          ['release', 'invoke', 'saga_1:2:invoke'],
        ]);
      }
      expect(waits).toEqual([1_000, 1_000, 2_000, 4_000, 8_000, 16_000, 20_000]);
      expect(saga.state).toMatchObject({
        status: 'stuck',
        stuck: { step: 'return stock', why: 'return stock failed: db down' },
      });
      saga = answer(definition, saga, { success: true }, 500_000);
      expect(saga.state.status).toBe('completed');
    });

    it('aborts a compensatable step in flight (compensating it), and refuses an abort past the pivot', () => {
      const aborted = advanceSaga(definition, start(definition).state, { type: 'abort', reason: 'stop' }, 1);
      expect(aborted.send.map((out) => out.command.type)).toEqual(['release']);
      expect(aborted.state).toMatchObject({ status: 'compensating', reason: 'stop' });
      expect(advanceSaga(definition, held().state, { type: 'abort', reason: 'stop' }, 1)).toMatchObject({
        ignored: 'past_pivot',
      });
    });
  });

  it('refuses definitions it cannot run as written', () => {
    expect(() => defineSaga<Order>('bad').step('a').invoke(command('q', 't')).build()).toThrow(
      /needs a timeout/,
    );
    expect(() =>
      defineSaga<Order>('bad')
        .step('a')
        .invoke(command('q', 't'))
        .pivot()
        .timeout(1)
        .step('b')
        .invoke(command('q', 't'))
        .withCompensation(command('q', 'u'))
        .timeout(1)
        .build(),
    ).toThrow(/after the pivot: it is retried forward, never compensated/);
    expect(() =>
      defineSaga<Order>('bad').step('a').invoke(command('q', 't')).pivot().timeout(1).step('b').pivot(),
    ).toThrow(/only one step can be the pivot/);
  });
});

describe('the saga state machine, whatever happens (property)', () => {
  const definitions = [placeOrder(0), placeOrder(2), cancelOrder(0), cancelOrder(1), cancelOrder(3)];
  const event = fc.record({
    outcome: fc.constantFrom('success', 'failure', 'timeout', 'abort'),
    duplicateOfEarlier: fc.boolean(),
    restart: fc.boolean(),
  });

  it('never compensates at or after the pivot, nor once the pivot may have happened; one pending request or finished; exactly the done compensatable steps undone, backwards', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...definitions),
        fc.array(event, { minLength: 1, maxLength: 60 }),
        (definition, events) => {
          const kindOf = (step: number) => definition.steps[step]?.kind;
          let { state, send } = start(definition);
          const sent: Outgoing[] = [...send];
          let now = 0;
          let compensationStartedWith: number[] | undefined;
          const apply = (input: SagaInput) => {
            const before: SagaState<Order> = state;
            const result = advanceSaga(definition, state, input, now);
            const compensations = result.send.filter((out) => out.kind === 'compensate');
            // No compensation for a step at or after the pivot, ever.
            for (const out of compensations) expect(kindOf(out.step)).toBe('compensatable');
            // A pivot or retriable step that may have happened (answered success, or stopped
            // answering) never sends the saga backwards.
            const pending = before.pending;
            if (
              pending?.kind === 'invoke' &&
              kindOf(pending.step) !== 'compensatable' &&
              input.type !== 'abort'
            )
              if (input.type === 'timeout' || (input.type === 'reply' && input.success))
                expect(compensations).toEqual([]);
            // Once the pivot has succeeded, the saga only goes forward, whatever fails after it.
            if (before.done.some((step) => kindOf(step) === 'pivot')) expect(compensations).toEqual([]);
            // Every attempt of one piece of work carries the same idempotency key.
            for (const out of result.send) expect(out.idempotencyKey).toBe(`saga_1:${out.step}:${out.kind}`);
            // At most one pending request, and a saga that is not finished always waits on one (a timer).
            expect(result.send.length).toBeLessThanOrEqual(1);
            if (!isFinished(result.state.status)) expect(result.state.pending?.deadline).toBeGreaterThan(0);
            else expect(result.state.pending).toBeNull();
            if (
              (before.status === 'running' || before.status === 'stuck') &&
              (result.state.status === 'compensating' || result.state.status === 'compensated')
            )
              compensationStartedWith = [...result.state.done];
            state = result.state;
            sent.push(...result.send);
            return result;
          };

          for (const next of events) {
            const pending = state.pending;
            if (!pending) break;
            now += 1_000;
            // A reply to something sent earlier arrives again: it changes nothing, unless it is the
            // success of an earlier attempt of the pending work.
            const old = sent[Math.floor(sent.length / 2)];
            if (
              next.duplicateOfEarlier &&
              old &&
              old.idempotencyKey !== pending.requestId.replace(/:\d+$/, '')
            ) {
              const dup = advanceSaga(
                definition,
                state,
                { type: 'reply', requestId: old.requestId, success: true },
                now,
              );
              expect(dup.ignored).toBe('stale');
              expect(dup.send).toEqual([]);
            }
            apply(
              next.outcome === 'abort'
                ? { type: 'abort', reason: 'customer_request' }
                : next.outcome === 'timeout'
                  ? { type: 'timeout', requestId: pending.requestId }
                  : next.outcome === 'success'
                    ? {
                        type: 'reply',
                        requestId: pending.requestId,
                        success: true,
                        reply: { reservation_id: 'r' },
                      }
                    : { type: 'reply', requestId: pending.requestId, success: false, reason: 'no' },
            );
            // A restart: the state as persisted (JSON) is all the next transition gets.
            if (next.restart) state = JSON.parse(JSON.stringify(state)) as SagaState<Order>;
          }

          // Participants gone for good: only timeouts from here. It ends finished, or stuck retrying.
          for (let guard = 0; guard < 60 && state.pending && state.status !== 'stuck'; guard += 1) {
            now += 1_000;
            apply({ type: 'timeout', requestId: state.pending.requestId });
          }
          expect(isFinished(state.status) || state.status === 'stuck').toBe(true);

          // They come back: every later request succeeds, and the saga finishes.
          for (let guard = 0; guard < 20 && state.pending; guard += 1) {
            now += 1_000;
            apply({ type: 'reply', requestId: state.pending.requestId, success: true });
          }
          expect(isFinished(state.status)).toBe(true);
          const compensated = [
            ...new Set(sent.filter((out) => out.kind === 'compensate').map((out) => out.step)),
          ];
          if (state.status === 'completed') {
            expect(compensated).toEqual([]);
            expect(state.done).toEqual(definition.steps.map((_, index) => index));
          } else {
            // The steps done when compensation began that have a compensation, last first.
            const expected = [...(compensationStartedWith ?? [])]
              .reverse()
              .filter((step) => kindOf(step) === 'compensatable');
            if (state.status === 'compensated') expect(compensated).toEqual(expected);
            else expect(expected.slice(0, compensated.length)).toEqual(compensated);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
