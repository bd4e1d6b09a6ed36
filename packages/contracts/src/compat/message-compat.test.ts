import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { orderCreated } from '../events/order-events.ts';
import { defineEvent, type MessageContract } from '../message-contract.ts';
import { compareMessages, snapshotMessages } from './message-compat.ts';

const lineSchema = z.object({
  sku: z.string().min(1),
  quantity: z.number().int().positive(),
  unit_price_minor: z.number().int().nonnegative(),
});
/** order.created as released: the baseline of these tests. */
const releasedSchema = z.object({
  order_id: z.string().min(1),
  customer_id: z.string().min(1),
  lines: z.array(lineSchema).min(1),
  total_minor: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/),
  channel: z.enum(['web', 'app']).optional(),
});
const released = defineEvent({ type: 'order.created', version: '1.0', schema: releasedSchema });
const shape = releasedSchema.shape;

/** The problems of releasing `next` after `released`. */
const problemsOf = (next: MessageContract, upcasters: readonly string[] = []) =>
  compareMessages(snapshotMessages([released]), snapshotMessages([next]), () => upcasters).map(
    (problem) => problem.problem,
  );
const changed = (version: string, schema: z.ZodType<Record<string, unknown>>) =>
  defineEvent({ type: 'order.created', version, schema });

describe('message compatibility between a released contract and the current one', () => {
  it('passes the contracts as they are, and a new optional field in a minor version', () => {
    expect(problemsOf(released)).toEqual([]);
    expect(problemsOf(changed('1.1', z.object({ ...shape, gift_note: z.string().optional() })))).toEqual([]);
    // The real order.created reads and writes what this copy of it does, minus the optional channel.
    expect(
      compareMessages(snapshotMessages([orderCreated]), snapshotMessages([orderCreated]), () => []),
    ).toEqual([]);
  });

  it('fails a removed required field: a consumer of 1.0 cannot read what is written now', () => {
    const { currency: _, ...rest } = shape;
    expect(problemsOf(changed('1.1', z.object(rest)))).toEqual([
      'order.created 1.0 → 1.1: a consumer of 1.0 cannot read what is written now: currency is required by the reader; the writer does not write it',
    ]);
  });

  it('fails a new required field: a consumer of 1.1 cannot read what 1.0 wrote', () => {
    expect(problemsOf(changed('1.1', z.object({ ...shape, warehouse: z.string() })))).toEqual([
      'order.created 1.0 → 1.1: a consumer of 1.1 cannot read what 1.0 wrote: warehouse is required by the reader; the writer does not write it',
    ]);
    // With a default the new consumer fills it in: compatible.
    expect(problemsOf(changed('1.1', z.object({ ...shape, warehouse: z.string().default('main') })))).toEqual(
      [],
    );
  });

  it('fails a changed type, a widened enum and a loosened bound, naming the field', () => {
    const typeChanged = problemsOf(changed('1.0', z.object({ ...shape, total_minor: z.string() })));
    expect(typeChanged).toContain(
      'order.created 1.0 → 1.0: a consumer of 1.0 cannot read what is written now: total_minor is written as string; the reader reads integer',
    );
    const enumWidened = problemsOf(
      changed('1.1', z.object({ ...shape, channel: z.enum(['web', 'app', 'pos']).optional() })),
    );
    expect(enumWidened).toEqual([
      'order.created 1.0 → 1.1: a consumer of 1.0 cannot read what is written now: channel "pos" may be written; the reader reads only ["web","app"]',
    ]);
    const nested = problemsOf(
      changed(
        '1.1',
        z.object({
          ...shape,
          lines: z.array(lineSchema.extend({ quantity: z.number().int().nonnegative() })).min(1),
        }),
      ),
    );
    expect(nested).toEqual([
      'order.created 1.0 → 1.1: a consumer of 1.0 cannot read what is written now: lines[].quantity the reader requires values > 0; the writer may write less',
    ]);
  });

  it('reports a new major version (consumers of 1.x cannot read it) and a removed type', () => {
    expect(problemsOf(changed('2.0', z.object(shape)), ['1.0'])).toEqual([
      'order.created 1.0 → 2.0 is a new major version: consumers of 1.0 cannot read it. Upgrade its consumers first, then update the baseline',
    ]);
    expect(problemsOf(changed('2.0', z.object(shape)))[0]).toContain('there is no upcaster from 1.0');
    expect(compareMessages(snapshotMessages([released]), {}, () => [])).toEqual([
      {
        type: 'order.created',
        problem: 'was removed; consumers and stored messages of order.created 1.0 still exist',
      },
    ]);
  });
});
