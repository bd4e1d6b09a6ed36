import {
  createEnvelope,
  type Envelope,
  type MessageContract,
  type SagaRequest,
  sagaReply,
} from '@mercato/contracts';
import { finishIntent, type Intent } from '../calls/call-outside.ts';
import type { Transaction } from '../db/database.ts';
import type { CallsOutHandler } from '../messaging/calls-out-handler.ts';
import type { MessageHandler } from '../messaging/inbox.ts';
import type { Outbox } from '../messaging/outbox.ts';

export type SagaOutcome =
  | { success: true; result?: Record<string, unknown> }
  | { success: false; reason: string; result?: Record<string, unknown> };

/**
 * A participant's answer to a saga command, written to its outbox in the transaction of the
 * command's effect, so the orchestrator hears exactly what committed.
 */
export async function replyToSaga(
  outbox: Outbox,
  transaction: Transaction,
  request: SagaRequest,
  outcome: SagaOutcome,
  origin: { source: string; correlationId: string; causationId: string },
): Promise<void> {
  await outbox.append(transaction, [
    {
      kind: 'queue',
      destination: request.reply_to,
      key: request.saga_id,
      envelope: createEnvelope({
        contract: sagaReply,
        source: origin.source,
        correlationId: origin.correlationId,
        causationId: origin.causationId,
        data: {
          saga_id: request.saga_id,
          request_id: request.request_id,
          success: outcome.success,
          ...(outcome.success ? {} : { reason: outcome.reason }),
          result: outcome.result ?? {},
        },
      }),
    },
  ]);
}

/** One command a participant handles: parsed by its contract, answered with its outcome. */
export interface SagaCommandHandler {
  type: string;
  run: (
    message: Envelope,
    transaction: Transaction,
  ) => Promise<{ request: SagaRequest; outcome: SagaOutcome }>;
}

export const sagaCommand = <Data extends { saga: SagaRequest }>(
  contract: MessageContract<Data>,
  handle: (command: Data, transaction: Transaction, message: Envelope) => Promise<SagaOutcome>,
): SagaCommandHandler => ({
  type: contract.type,
  run: async (message, transaction) => {
    const command = contract.schema.parse(message.data);
    return { request: command.saga, outcome: await handle(command, transaction, message) };
  },
});

/**
 * The message handler of a participant's command queue: each command goes to its handler, and the
 * reply is written in the same transaction as the handler's effect (and the inbox row). A command
 * type without a handler is an error, so it is retried and then dead-lettered, never dropped.
 */
export function answerSagaCommands(options: {
  source: string;
  outbox: Outbox;
  commands: readonly SagaCommandHandler[];
}): MessageHandler {
  const byType = new Map(options.commands.map((command) => [command.type, command]));
  return async (message, transaction) => {
    const command = byType.get(message.event_type);
    if (!command) throw new Error(`${options.source}: no handler for command ${message.event_type}`);
    const { request, outcome } = await command.run(message, transaction);
    await replyToSaga(options.outbox, transaction, request, outcome, {
      source: options.source,
      correlationId: message.correlation_id,
      causationId: message.event_id,
    });
  };
}

/** A command whose handler calls another process: its intent step, then its call and outcome. */
export interface SagaCallingCommandHandler {
  type: string;
  subject: (message: Envelope) => string;
  intent: (
    message: Envelope,
    transaction: Transaction,
  ) => Promise<{ request: SagaRequest; intent: Intent<SagaOutcome> }>;
}

export const sagaCallingCommand = <Data extends { saga: SagaRequest }>(
  contract: MessageContract<Data>,
  handle: {
    /** What the call is about (e.g. the order's payment): commands about it never call at once. */
    subject: (command: Data) => string;
    intent: (command: Data, transaction: Transaction, message: Envelope) => Promise<Intent<SagaOutcome>>;
  },
): SagaCallingCommandHandler => ({
  type: contract.type,
  subject: (message) => handle.subject(contract.schema.parse(message.data)),
  intent: async (message, transaction) => {
    const command = contract.schema.parse(message.data);
    return { request: command.saga, intent: await handle.intent(command, transaction, message) };
  },
});

/**
 * `answerSagaCommands` for commands that call another process: claim, call, record, with the reply
 * written in the transaction that records the outcome (or in the intent's, when no call is needed).
 */
export function answerSagaCommandsCallingOut(options: {
  source: string;
  outbox: Outbox;
  leaseMs: number;
  commands: readonly SagaCallingCommandHandler[];
}): CallsOutHandler {
  const byType = new Map(options.commands.map((command) => [command.type, command]));
  const commandOf = (message: Envelope) => {
    const command = byType.get(message.event_type);
    if (!command) throw new Error(`${options.source}: no handler for command ${message.event_type}`);
    return command;
  };
  return {
    leaseMs: options.leaseMs,
    subject: (message) => commandOf(message).subject(message),
    intent: async (message, transaction) => {
      const { request, intent } = await commandOf(message).intent(message, transaction);
      return finishIntent(intent, transaction, (settling, outcome) =>
        replyToSaga(options.outbox, settling, request, outcome, {
          source: options.source,
          correlationId: message.correlation_id,
          causationId: message.event_id,
        }),
      );
    },
  };
}
