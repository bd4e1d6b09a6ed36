/** A command a saga sends to a participant; the participant's reply carries the same request id. */
export interface SagaCommand {
  /** The participant's work queue, e.g. `inventory.commands`. */
  destination: string;
  type: string;
  payload: Record<string, unknown>;
}

export interface SagaStep<Data> {
  name: string;
  /**
   * The command that does the step; undefined when the step has nothing to send for this saga.
   * `deadline` (epoch ms) is when the saga stops waiting for it, for a command that should expire.
   */
  invoke: (data: Data, step: { deadline: number }) => SagaCommand | undefined;
  /** What a successful reply adds to the saga's data (e.g. the reservation id). */
  onReply?: (data: Data, reply: Record<string, unknown>) => Data;
  /** The command that undoes the step; it must be safe to repeat and to send for a step that never took effect. */
  compensate?: (data: Data) => SagaCommand | undefined;
  /** How long the step's command (or its compensation) may take before the saga stops waiting. */
  timeoutMs: number;
}

export interface SagaDefinition<Data> {
  name: string;
  steps: readonly SagaStep<Data>[];
  /** How often a compensation is tried before the saga is left FAILED for a person to look at. */
  maxCompensationAttempts: number;
}

interface StepDraft<Data> {
  name: string;
  invoke?: SagaStep<Data>['invoke'];
  onReply?: SagaStep<Data>['onReply'];
  compensate?: SagaStep<Data>['compensate'];
  timeoutMs?: number;
}

/**
 * A saga that reads like its spec, in the spirit of eventuate-tram-sagas' DSL:
 *
 *   defineSaga<PlaceOrder>('place-order')
 *     .step('reserve inventory').invoke(reserve).onReply(withReservation).withCompensation(release).timeout(5_000)
 *     .step('take payment').invoke(charge).onReply(withPayment).withCompensation(refund).timeout(10_000)
 *     .step('confirm order').invoke(confirm).timeout(5_000)
 *     .build();
 *
 * Unlike tram-sagas, every step has a timeout: a participant that never answers stops the saga
 * going forward and starts its compensations.
 */
export function defineSaga<Data>(name: string, options: { maxCompensationAttempts?: number } = {}) {
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
    timeout(timeoutMs: number) {
      current().timeoutMs = timeoutMs;
      return builder;
    },
    build(): SagaDefinition<Data> {
      if (steps.length === 0) throw new Error(`saga ${name} has no steps`);
      return {
        name,
        maxCompensationAttempts: options.maxCompensationAttempts ?? 5,
        steps: steps.map((step) => {
          if (!step.invoke) throw new Error(`saga ${name}: step "${step.name}" invokes nothing`);
          if (!step.timeoutMs || step.timeoutMs <= 0)
            throw new Error(`saga ${name}: step "${step.name}" needs a timeout`);
          return {
            name: step.name,
            invoke: step.invoke,
            timeoutMs: step.timeoutMs,
            ...(step.onReply ? { onReply: step.onReply } : {}),
            ...(step.compensate ? { compensate: step.compensate } : {}),
          };
        }),
      };
    },
  };
  return builder;
}
