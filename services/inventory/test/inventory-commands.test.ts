import {
  connectTestBus,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import {
  commitStock,
  createEnvelope,
  INVENTORY_COMMANDS,
  type MessageContract,
  releaseStock,
  reserveStock,
} from '@mercato/contracts';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryConfig } from '../src/config.ts';
import { inventoryDefinition } from '../src/inventory.service.ts';

const postgres = await probePostgres();

/**
 * inventory as a PlaceOrder participant: commands on the `inventory.commands` work queue, replies on
 * the queue the command names, effects and replies committed together, every command idempotent.
 */
describe.skipIf(!postgres.available)(suiteTitle('inventory saga commands over the bus', postgres), () => {
  let running: TestService<InventoryConfig>;
  let messageStore: TestBus;
  let sent = 0;
  const stock = async (sku: string) => {
    const { stock: level } = await running.client(InventoryService).getStock({ sku });
    return { available: level?.available ?? -1, reserved: level?.reserved ?? -1 };
  };

  /** Sends a command as a saga would, and waits for inventory's reply to it. */
  const command = async (contract: MessageContract, data: Record<string, unknown>, sagaId: string) => {
    const requestId = `${sagaId}:${++sent}`;
    await messageStore.bus.publish([
      {
        kind: 'queue',
        destination: INVENTORY_COMMANDS,
        key: sagaId,
        envelope: createEnvelope({
          contract,
          source: 'test',
          correlationId: 'corr_test',
          data: {
            ...data,
            saga: {
              saga_id: sagaId,
              request_id: requestId,
              idempotency_key: requestId,
              reply_to: 'test.replies',
            },
          },
        }),
      },
    ]);
    let reply: { success: boolean; reason?: string; result: Record<string, unknown> } | undefined;
    await waitFor(`the reply to ${requestId}`, async () => {
      const { rows } = await messageStore.messages.query<{
        envelope: { data: typeof reply & { request_id: string } };
      }>(
        `SELECT envelope FROM bus_messages WHERE destination = 'test.replies' AND envelope->'data'->>'request_id' = $1`,
        [requestId],
      );
      reply = rows[0]?.envelope.data;
      return reply !== undefined;
    });
    return reply;
  };

  beforeAll(async () => {
    running = await startTestService(inventoryDefinition);
    messageStore = connectTestBus(running.messagesUrl);
  });
  afterAll(async () => {
    await messageStore?.close();
    await running?.stop();
  });

  it('reserves, answers a repeat with the same reservation, commits, and returns committed stock to the shelf', async () => {
    const before = await stock('KIT-0011');
    const reserve = {
      reservation_id: 'res_cmd_1',
      lines: [{ sku: 'KIT-0011', quantity: 4 }],
      ttl_seconds: 0,
    };
    expect(await command(reserveStock, reserve, 'saga-1')).toMatchObject({
      success: true,
      result: { reservation_id: 'res_cmd_1' },
    });
    expect(await command(reserveStock, reserve, 'saga-1')).toMatchObject({ success: true });
    expect(await stock('KIT-0011')).toEqual({
      available: before.available - 4,
      reserved: before.reserved + 4,
    });

    expect(await command(commitStock, { reservation_id: 'res_cmd_1' }, 'saga-1')).toMatchObject({
      success: true,
    });
    expect(await stock('KIT-0011')).toEqual({ available: before.available - 4, reserved: before.reserved });

    // An order cancelled after it was confirmed: the stock goes back, once.
    expect(await command(releaseStock, { reservation_id: 'res_cmd_1' }, 'saga-1')).toMatchObject({
      success: true,
      result: { status: 'returned' },
    });
    expect(await command(releaseStock, { reservation_id: 'res_cmd_1' }, 'saga-1')).toMatchObject({
      success: true,
    });
    expect(await stock('KIT-0011')).toEqual(before);
  });

  it('answers a shortfall as a failure, and a release that overtook its reserve makes the reserve do nothing', async () => {
    const before = await stock('KIT-0012');
    expect(
      await command(
        reserveStock,
        { reservation_id: 'res_cmd_2', lines: [{ sku: 'KIT-0012', quantity: 999 }], ttl_seconds: 0 },
        'saga-2',
      ),
    ).toMatchObject({ success: false, reason: 'insufficient_stock' });

    expect(await command(releaseStock, { reservation_id: 'res_cmd_3' }, 'saga-3')).toMatchObject({
      success: true,
    });
    expect(
      await command(
        reserveStock,
        { reservation_id: 'res_cmd_3', lines: [{ sku: 'KIT-0012', quantity: 1 }], ttl_seconds: 0 },
        'saga-3',
      ),
    ).toMatchObject({ success: false, reason: 'reservation_released' });
    expect(await stock('KIT-0012')).toEqual(before);
  });
});
