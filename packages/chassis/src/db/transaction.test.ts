import { MessageRegistry } from '@mercato/contracts';
import { describe, expect, it } from 'vitest';
import type { MessageHandler } from '../messaging/inbox.ts';
import { Outbox } from '../messaging/outbox.ts';
import type { PoolClient, Transaction } from './database.ts';

describe('Transaction', () => {
  it('is what the outbox and handlers take: a client outside inTransaction does not compile', () => {
    const outbox = new Outbox(new MessageRegistry([]));
    const plain = {} as PoolClient;
    // @ts-expect-error a pool client that is not inside a transaction
    const appendOutside = () => outbox.append(plain, []);
    const handler: MessageHandler = async () => undefined;
    // @ts-expect-error a handler is handed only a transaction
    const handleOutside = () => handler({} as never, plain);
    // Type-level checks (tsc -b runs them); at run time there is nothing to see.
    const inside = plain as Transaction;
    expect([appendOutside, handleOutside, inside]).toHaveLength(3);
  });
});
