import * as z from 'zod';

/** What can be dialled while the carrier runs (`PUT /admin/knobs`); env sets the start values. */
export const knobsSchema = z.object({
  failure_rate: z.number().min(0).max(1),
  lost_rate: z.number().min(0).max(1),
  delivery_ms: z.number().int().min(0).max(86_400_000),
  latency_ms: z.number().int().min(0).max(120_000),
  outage: z.boolean(),
});

export type Knobs = z.output<typeof knobsSchema>;

/** The carrier's dials, shared by its routes. */
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

  /** Draws a parcel's fate when it is handed over. */
  draw(random = Math.random): { refused: boolean; lost: boolean; deliveryMs: number } {
    return {
      refused: random() < this.#knobs.failure_rate,
      lost: random() < this.#knobs.lost_rate,
      deliveryMs: this.#knobs.delivery_ms,
    };
  }
}
