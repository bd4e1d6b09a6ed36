import { create } from '@bufbuild/protobuf';
import { startGrpcStub, type TestBus, waitFor } from '@mercato/chassis/testing';
import { createEnvelope, ORDER_SAGA_REPLIES, sagaReply } from '@mercato/contracts';
import { CalculateQuoteResponseSchema, PricingService } from '@mercato/contracts/grpc/pricing';

/** Pricing, as order calls it when an order is created: every item at 19.00 EUR. */
export const startPricingStub = () =>
  startGrpcStub((router) => {
    router.service(PricingService, {
      calculateQuote: (request) =>
        create(CalculateQuoteResponseSchema, {
          currency: 'EUR',
          lines: request.items.map((item) => ({
            sku: item.sku,
            quantity: item.quantity,
            unitPriceMinor: 1_900n,
            subtotalMinor: 1_900n * BigInt(item.quantity),
            totalMinor: 1_900n * BigInt(item.quantity),
          })),
          totalMinor: request.items.reduce((sum, item) => sum + 1_900n * BigInt(item.quantity), 0n),
        }),
    });
  });

/**
 * The participants of order's sagas (inventory, payment, fulfillment) played by a test over the bus:
 * what a saga sent, read from the message store, and replies to it.
 */
export function sagaParticipants(bus: TestBus) {
  /** The commands order's sagas sent for a saga, oldest first. */
  const commandsOf = async (sagaId: string) => {
    const { rows } = await bus.messages.query<{ type: string; request_id: string }>(
      `SELECT envelope->>'event_type' AS type, envelope->'data'->'saga'->>'request_id' AS request_id
       FROM bus_messages WHERE kind = 'queue' AND envelope->'data'->'saga'->>'saga_id' = $1 ORDER BY position`,
      [sagaId],
    );
    return rows;
  };
  /** Waits for the `nth` command of `type` a saga sent, and returns its request id. */
  const sent = async (sagaId: string, type: string, nth = 1) => {
    let requestId = '';
    await waitFor(`${sagaId} to send ${type} #${nth}`, async () => {
      requestId =
        (await commandsOf(sagaId)).filter((command) => command.type === type)[nth - 1]?.request_id ?? '';
      return requestId !== '';
    });
    return requestId;
  };
  const reply = (
    sagaId: string,
    requestId: string,
    outcome: { success: boolean; reason?: string; result?: object },
  ) =>
    bus.bus.publish([
      {
        kind: 'queue',
        destination: ORDER_SAGA_REPLIES,
        key: sagaId,
        envelope: createEnvelope({
          contract: sagaReply,
          source: 'test',
          correlationId: 'corr_test',
          data: { saga_id: sagaId, request_id: requestId, result: {}, ...outcome },
        }),
      },
    ]);
  /** Answers the next command of `type` a saga sent with success. */
  const succeed = async (sagaId: string, type: string, result: object = {}, nth = 1) =>
    reply(sagaId, await sent(sagaId, type, nth), { success: true, result });
  return { commandsOf, sent, reply, succeed };
}
