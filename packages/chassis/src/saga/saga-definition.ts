/** A command a saga sends to a participant; the participant's reply carries the same request id. */
export interface SagaCommand {
  /** The participant's work queue, e.g. `inventory.commands`. */
  destination: string;
  type: string;
  payload: Record<string, unknown>;
}

/**
 * Where a step stands in the saga, after FTGO's model (Microservices Patterns, ch. 4):
 * - `compensatable`: before the pivot; undone backwards when a later step at or before the pivot
 *   fails, or when it times out itself (it may have taken effect).
 * - `pivot`: the go/no-go step. Its failure undoes the steps before it; once it may have taken
 *   effect (it answered success, or stopped answering), the saga only goes forward.
 * - `retriable`: after the pivot; retried forward with the same idempotency key until it succeeds,
 *   never compensated.
 * A saga without a pivot has compensatable steps only.
 */
export type SagaStepKind = 'compensatable' | 'pivot' | 'retriable';

export interface SagaStep<Data> {
  name: string;
  kind: SagaStepKind;
  /**
   * The command that does the step; undefined when the step has nothing to send for this saga.
   * `deadline` (epoch ms) is when the saga stops waiting for it (every attempt of one step gets the
   * same deadline), for a command that should expire.
   */
  invoke: (data: Data, step: { deadline: number }) => SagaCommand | undefined;
  /** What a successful reply adds to the saga's data (e.g. the reservation id). */
  onReply?: (data: Data, reply: Record<string, unknown>) => Data;
  /** The command that undoes the step; it must be safe to repeat and to send for a step that never took effect. */
  compensate?: (data: Data) => SagaCommand | undefined;
  /**
   * How long the saga waits for the step in all: the business deadline (how long a customer would
   * wait), not the time a restart takes. The command is sent `1 + resends` times within it, at even
   * intervals, with the same idempotency key; then a compensatable step is compensated, and a pivot
   * or retriable one goes on being resent (the saga is then `stuck`).
   */
  timeoutMs: number;
  /** How often the command is sent again within `timeoutMs` before the step counts as timed out. */
  resends: number;
}

export interface SagaDefinition<Data> {
  name: string;
  steps: readonly SagaStep<Data>[];
  /** How often a compensation is tried before the saga is left FAILED for a person to look at. */
  maxCompensationAttempts: number;
  /** The longest wait between two attempts of a step retried forward (the wait doubles up to it). */
  maxRetryIntervalMs: number;
}

export interface SagaOptions {
  maxCompensationAttempts?: number;
  /** Resends of a step's command within its timeout (default 2, so three attempts in all). */
  resends?: number;
  maxRetryIntervalMs?: number;
}

interface StepDraft<Data> {
  name: string;
  invoke?: SagaStep<Data>['invoke'];
  onReply?: SagaStep<Data>['onReply'];
  compensate?: SagaStep<Data>['compensate'];
  timeoutMs?: number;
  resends?: number;
  pivot?: boolean;
}

/**
 * A saga that reads like its spec, in the spirit of eventuate-tram-sagas' DSL, with FTGO's pivot:
 *
 *   defineSaga<CancelOrder>('cancel-order')
 *     .step('hold shipment').invoke(hold).withCompensation(release).timeout(30_000)
 *     .step('refund payment').invoke(refund).pivot().timeout(60_000)
 *     .step('return stock').invoke(restock).timeout(30_000)
 *     .build();
 *
 * Steps before `.pivot()` are compensatable, steps after it retriable (they may declare no
 * compensation). Unlike tram-sagas, every step has a timeout: a participant that never answers is
 * sent the command again, and then stops the saga going forward (before the pivot) or marks it stuck.
 */
export function defineSaga<Data>(name: string, options: SagaOptions = {}) {
  const steps: StepDraft<Data>[] = [];
  const current = (): StepDraft<Data> => {
    const step = steps.at(-1);
    if (!step) throw new Error(`saga ${name}: call step() first`);
    return step;
  };
  const builder = {
    step(stepName: string) {
      steps.push({ name: stepName });
      return builder;
    },
    invoke(invoke: NonNullable<StepDraft<Data>['invoke']>) {
      current().invoke = invoke;
      return builder;
    },
    onReply(onReply: NonNullable<StepDraft<Data>['onReply']>) {
      current().onReply = onReply;
      return builder;
    },
    withCompensation(compensate: NonNullable<StepDraft<Data>['compensate']>) {
      current().compensate = compensate;
      return builder;
    },
    /** This step is the saga's point of no return: once it may have happened, only forward. */
    pivot() {
      if (steps.some((step) => step.pivot)) throw new Error(`saga ${name}: only one step can be the pivot`);
      current().pivot = true;
      return builder;
    },
    /** How long the saga waits for this step in all; `resends` overrides the saga's default. */
    timeout(timeoutMs: number, stepOptions: { resends?: number } = {}) {
      current().timeoutMs = timeoutMs;
      if (stepOptions.resends !== undefined) current().resends = stepOptions.resends;
      return builder;
    },
    build(): SagaDefinition<Data> {
      if (steps.length === 0) throw new Error(`saga ${name} has no steps`);
      const pivotAt = steps.findIndex((step) => step.pivot);
      const resends = options.resends ?? 2;
      return {
        name,
        maxCompensationAttempts: options.maxCompensationAttempts ?? 5,
        maxRetryIntervalMs: options.maxRetryIntervalMs ?? 60_000,
        steps: steps.map((step, index): SagaStep<Data> => {
          if (!step.invoke) throw new Error(`saga ${name}: step "${step.name}" invokes nothing`);
          if (!step.timeoutMs || step.timeoutMs <= 0)
            throw new Error(`saga ${name}: step "${step.name}" needs a timeout`);
          const kind: SagaStepKind =
            pivotAt < 0 || index < pivotAt ? 'compensatable' : index === pivotAt ? 'pivot' : 'retriable';
          if (kind !== 'compensatable' && step.compensate)
            throw new Error(
              `saga ${name}: step "${step.name}" is at or after the pivot: it is retried forward, never compensated`,
            );
          const stepResends = step.resends ?? resends;
          if (!Number.isInteger(stepResends) || stepResends < 0)
            throw new Error(`saga ${name}: step "${step.name}" needs a whole number of resends`);
          return {
            name: step.name,
            kind,
            invoke: step.invoke,
            timeoutMs: step.timeoutMs,
            resends: stepResends,
            ...(step.onReply ? { onReply: step.onReply } : {}),
            ...(step.compensate ? { compensate: step.compensate } : {}),
          };
        }),
      };
    },
  };
  return builder;
}
