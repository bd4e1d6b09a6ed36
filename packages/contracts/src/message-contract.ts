import type * as z from 'zod';

/** How an older version of a message's data becomes the next one. */
export interface Upcaster {
  from: string;
  to: string;
  upcast: (data: Record<string, unknown>) => Record<string, unknown>;
}

/**
 * One message type: its current version, the schema of that version's data, and the upcasters that
 * bring every older version still in flight up to it.
 */
export interface MessageContract<Data extends Record<string, unknown> = Record<string, unknown>> {
  type: string;
  version: string;
  kind: 'event' | 'command';
  schema: z.ZodType<Data>;
  upcasters?: readonly Upcaster[];
}

export const defineEvent = <Data extends Record<string, unknown>>(
  contract: Omit<MessageContract<Data>, 'kind'>,
): MessageContract<Data> => ({ ...contract, kind: 'event' });

export const defineCommand = <Data extends Record<string, unknown>>(
  contract: Omit<MessageContract<Data>, 'kind'>,
): MessageContract<Data> => ({ ...contract, kind: 'command' });

export type DataOf<Contract> = Contract extends MessageContract<infer Data> ? Data : never;
