import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { parseRequest } from '@mercato/chassis';
import {
  InventoryService,
  type Reservation as ReservationMessage,
  ReservationSchema,
  type StockLevel as StockLevelMessage,
  StockLevelSchema,
} from '@mercato/contracts/grpc/inventory';
import * as z from 'zod';
import type { Inventory, StockLevel } from '../../application/inventory.port.ts';
import { inventoryErrors } from '../../application/inventory-errors.ts';
import type { Reservation } from '../../domain/reservation.ts';
import type { StockLevelFeed } from '../persistence/stock-level-feed.ts';

const sku = z.string().trim().min(1).max(32);
const reservationId = z.string().trim().min(1).max(128);
const reserveRequest = z.object({
  reservationId,
  lines: z
    .array(z.object({ sku, quantity: z.number().int().min(1).max(10_000) }))
    .min(1)
    .max(100),
  ttlSeconds: z.number().int().min(0).max(86_400),
});
const byReservation = z.object({ reservationId });
const bySku = z.object({ sku });
const bySkus = z.object({ skus: z.array(sku).min(1).max(100) });

const toStockMessage = (level: StockLevel): StockLevelMessage =>
  create(StockLevelSchema, {
    sku: level.sku,
    available: level.available,
    reserved: level.reserved,
    warehouses: level.warehouses,
  });

const toReservationMessage = (reservation: Reservation): ReservationMessage =>
  create(ReservationSchema, {
    reservationId: reservation.id,
    status: reservation.status,
    expiresAt: reservation.expiresAt.toISOString(),
    allocations: reservation.allocations,
  });

export interface InventoryGrpcOptions {
  inventory: Inventory;
  feed: StockLevelFeed;
  defaultTtlSeconds: number;
  /** Aborted when the service stops, so open streams end instead of holding shutdown. */
  stopping: AbortSignal;
}

export const inventoryGrpc =
  ({ inventory, feed, defaultTtlSeconds, stopping }: InventoryGrpcOptions) =>
  (router: ConnectRouter) =>
    router.service(InventoryService, {
      async getStock(request) {
        const query = parseRequest(bySku, request);
        const [level] = await inventory.getStock([query.sku]);
        if (!level) throw inventoryErrors.unknownSku(query.sku);
        return { stock: toStockMessage(level) };
      },
      async getStockLevels(request) {
        const { skus } = parseRequest(bySkus, request);
        return { stocks: (await inventory.getStock([...new Set(skus)])).map(toStockMessage) };
      },
      async reserveStock(request) {
        const command = parseRequest(reserveRequest, request);
        const reservation = await inventory.reserve({
          reservationId: command.reservationId,
          lines: command.lines,
          ttlSeconds: command.ttlSeconds || defaultTtlSeconds,
        });
        return { reservation: toReservationMessage(reservation) };
      },
      async releaseStock(request) {
        const { reservationId: id } = parseRequest(byReservation, request);
        return { reservation: toReservationMessage(await inventory.release(id)) };
      },
      async commitReservation(request) {
        const { reservationId: id } = parseRequest(byReservation, request);
        return { reservation: toReservationMessage(await inventory.commit(id)) };
      },
      async *streamStockLevels(request, context) {
        const { skus } = parseRequest(bySkus, request);
        const unique = [...new Set(skus)];
        const signal = AbortSignal.any([context.signal, stopping]);
        const changes = feed.watch(unique, signal);
        const current = await inventory.getStock(unique);
        const missing = unique.find((wanted) => !current.some((level) => level.sku === wanted));
        if (missing) throw inventoryErrors.unknownSku(missing);
        for (const level of current) yield { stock: toStockMessage(level) };
        for await (const changed of changes) {
          for (const level of await inventory.getStock(changed)) yield { stock: toStockMessage(level) };
        }
      },
    });
