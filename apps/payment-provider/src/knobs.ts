import * as z from 'zod';

/** What can be dialled while the provider runs (`PUT /admin/knobs`); env sets the start values. */
export const knobsSchema = z.object({
  decline_rate: z.number().min(0).max(1),
  refund_failure_rate: z.number().min(0).max(1),
  latency_ms: z.number().int().min(0).max(120_000),
  outage: z.boolean(),
});

export type Knobs = z.output<typeof knobsSchema>;

/** The provider's dials, shared by its routes. */
export class KnobPanel {
  #knobs: Knobs;

  constructor(initial: Knobs) {
    this.#knobs = { ...initial };
  }

  get current(): Knobs {
    return { ...this.#knobs };
  }

  set(changes: Partial<Knobs>): Knobs {
    this.#knobs = { ...this.#knobs, ...changes };
    return this.current;
  }

  /** Draws whether this authorization is declined. */
  declines(random = Math.random): boolean {
    return random() < this.#knobs.decline_rate;
  }

  refundFails(random = Math.random): boolean {
    return random() < this.#knobs.refund_failure_rate;
  }
}
