import {
  inTransaction,
  isAppError,
  type Outbox,
  type OutboxEntry,
  type Pool,
  type PoolClient,
  type StatementPart,
  type Transaction,
} from '@mercato/chassis';
import type { Inventory, ReserveCommand, StockLevel } from '../../application/inventory.port.ts';
import { inventoryErrors } from '../../application/inventory-errors.ts';
import { inventoryMessages } from '../../application/inventory-messages.ts';
import { type Allocation, allocate, mergeLines, type Shortfall } from '../../domain/allocation.ts';
import { type Reservation, type ReservationAction, transition } from '../../domain/reservation.ts';
import { stockLowCrossings } from '../../domain/stock-low.ts';
import { LEGACY_WAREHOUSE, legacyStock } from './legacy-stock.ts';

export interface PostgresInventoryOptions {
  pool: Pool;
  outbox: Outbox;
  now: () => Date;
  correlationId: () => string;
  /** A reservation was made (in a transaction about to commit) that expires at `at`. */
  onReserved?: (at: Date) => void;
}

interface ReservationRow {
  id: string;
  status: Reservation['status'] | 'failed';
  expires_at: Date;
  shortfall: Shortfall[] | null;
  allocations: Allocation[];
}

/** A new active reservation and its allocations, written in the statement that takes the part. */
const newReservation = (
  id: string,
  expiresAt: Date,
  now: Date,
  allocations: Allocation[],
): StatementPart => ({
  sql: (param) => {
    const reservation = param(id);
    return `new_reservation AS (
      INSERT INTO reservations (id, status, expires_at, created_at, updated_at)
      VALUES (${reservation}, 'active', ${param(expiresAt)}, ${param(now)}, ${param(now)})
    ), new_allocations AS (
      INSERT INTO reservation_allocations (reservation_id, sku, warehouse_id, quantity)
      SELECT ${reservation}::text, * FROM unnest(${param(allocations.map((a) => a.sku))}::text[],
        ${param(allocations.map((a) => a.warehouseId))}::text[], ${param(allocations.map((a) => a.quantity))}::int[])
    )`;
  },
});

/**
 * Inventory on PostgreSQL. Stock rows are locked in (sku, warehouse) order so concurrent
 * reservations queue instead of deadlocking; each change, its events and its NOTIFY commit together.
 */
export class PostgresInventory implements Inventory {
  readonly #options: PostgresInventoryOptions;

  constructor(options: PostgresInventoryOptions) {
    this.#options = options;
  }

  async getStock(skus: readonly string[]): Promise<StockLevel[]> {
    const { rows } = await this.#options.pool.query<{
      sku: string;
      warehouse_id: string;
      available: number;
      reserved: number;
    }>(
      // The monolith's shelf (legacy-stock.ts) shows as one more warehouse, never reserved here; once
      // orders moved it is inventory's, a warehouse like the others.
      `SELECT sku, warehouse_id, available, reserved FROM stock_levels WHERE sku = ANY($1::text[])
         AND (warehouse_id <> '${LEGACY_WAREHOUSE}'
              OR EXISTS (SELECT 1 FROM legacy_capabilities WHERE name = 'orders' AND owner = 'services'))
       UNION ALL
       SELECT sku, '${LEGACY_WAREHOUSE}', quantity, 0 FROM legacy_stock
       WHERE sku = ANY($1::text[]) AND quantity IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM legacy_capabilities WHERE name = 'orders' AND owner = 'services')
       ORDER BY sku, warehouse_id`,
      [skus],
    );
    return skus.flatMap((sku) => {
      const warehouses = rows
        .filter((row) => row.sku === sku)
        .map((row) => ({ warehouseId: row.warehouse_id, available: row.available, reserved: row.reserved }));
      if (warehouses.length === 0) return [];
      return [
        {
          sku,
          available: warehouses.reduce((sum, w) => sum + w.available, 0),
          reserved: warehouses.reduce((sum, w) => sum + w.reserved, 0),
          warehouses,
        },
      ];
    });
  }

  async reserve(command: ReserveCommand): Promise<Reservation> {
    // Stock held by reservations past their TTL is free again before we decide.
    await this.expireDue();
    const outcome = await inTransaction(this.#options.pool, (client) => this.reserveIn(client, command));
    if ('failed' in outcome) throw inventoryErrors.insufficientStock(command.reservationId, outcome.failed);
    return outcome;
  }

  /**
   * Reserves in the caller's transaction (a saga command's, with its inbox row and reply). A
   * shortfall is recorded and returned, not thrown, so it commits with the answer that reports it.
   */
  async reserveIn(
    client: Transaction,
    command: ReserveCommand,
  ): Promise<Reservation | { failed: Shortfall[] }> {
    const now = this.#options.now();
    const messages = inventoryMessages(this.#options.correlationId(), now);
    const existing = await this.#lockReservation(client, command.reservationId);
    if (existing) return existing;

    const lines = mergeLines(command.lines);
    const skus = lines.map((line) => line.sku).sort();
    const { rows: levels } = await client.query<{
      sku: string;
      warehouse_id: string;
      available: number;
      low_threshold: number;
    }>(
      `SELECT sku, warehouse_id, available, low_threshold FROM stock_levels
       WHERE sku = ANY($1::text[]) ORDER BY sku, warehouse_id FOR UPDATE`,
      [skus],
    );
    const expiresAt = new Date(now.getTime() + command.ttlSeconds * 1000);
    const allocated = allocate(
      lines,
      levels.map((level) => ({
        sku: level.sku,
        warehouseId: level.warehouse_id,
        available: level.available,
      })),
    );
    if (!allocated.ok) {
      // Short of a product of the monolith whose shelf is moving here: not short, only early.
      const moving = await client.query<{ sku: string }>(
        `SELECT sku FROM legacy_stock
         WHERE sku = ANY($1::text[])
           AND EXISTS (SELECT 1 FROM legacy_capabilities WHERE name = 'orders' AND owner = 'moving')`,
        [allocated.error.map((line) => line.sku)],
      );
      if (moving.rows.length > 0)
        throw inventoryErrors.stockMoving(
          command.reservationId,
          moving.rows.map((row) => row.sku),
        );
      await client.query(
        `INSERT INTO reservations (id, status, expires_at, created_at, updated_at, shortfall)
         VALUES ($1, 'failed', $2, $3, $3, $4)`,
        [command.reservationId, expiresAt, now, JSON.stringify(allocated.error)],
      );
      await this.#options.outbox.append(client, [messages.failed(command.reservationId, allocated.error)]);
      return { failed: allocated.error };
    }
    await this.#moveStock(client, allocated.value, 'reserve');
    const lowNow = stockLowCrossings(
      levels.map((level) => ({
        sku: level.sku,
        available: level.available,
        lowThreshold: level.low_threshold,
      })),
      allocated.value,
    );
    const entries: OutboxEntry[] = [
      messages.reserved(command.reservationId, allocated.value, expiresAt),
      ...lowNow.map((low) => messages.stockLow(low.sku, low.available, low.threshold)),
    ];
    // The reservation and its allocations in the outbox append's statement: one round trip for three.
    await this.#options.outbox.append(client, entries, [
      newReservation(command.reservationId, expiresAt, now, allocated.value),
    ]);
    this.#options.onReserved?.(expiresAt);
    return { id: command.reservationId, status: 'active', expiresAt, allocations: allocated.value };
  }

  /**
   * Gives a reservation's stock back in the caller's transaction: an active one is released, a
   * committed one returns to the shelf, and an id never reserved is remembered as released, so a
   * reserve that arrives after it does nothing.
   */
  async releaseIn(client: Transaction, reservationId: string): Promise<Reservation> {
    const existing = await this.#lockReservation(client, reservationId);
    if (!existing) {
      const now = this.#options.now();
      await client.query(
        `INSERT INTO reservations (id, status, expires_at, created_at, updated_at) VALUES ($1, 'released', $2, $2, $2)`,
        [reservationId, now],
      );
      return { id: reservationId, status: 'released', expiresAt: now, allocations: [] };
    }
    if ('failed' in existing)
      return { id: reservationId, status: 'released', expiresAt: this.#options.now(), allocations: [] };
    return this.#transitionIn(client, reservationId, 'return');
  }

  /** Commits in the caller's transaction; a reservation past its TTL is expired and refused. */
  commitIn(client: Transaction, reservationId: string): Promise<Reservation> {
    return this.#transitionIn(client, reservationId, 'commit');
  }

  release(reservationId: string): Promise<Reservation> {
    return this.#transition(reservationId, 'release');
  }

  async commit(reservationId: string): Promise<Reservation> {
    try {
      return await this.#transition(reservationId, 'commit');
    } catch (error) {
      // A commit that arrives after the TTL finds the reservation expired; make it so now rather
      // than waiting for the sweeper, so its stock is free at once.
      if (isAppError(error) && error.code === 'INVENTORY.RESERVATION_EXPIRED')
        await this.#transition(reservationId, 'expire').catch(() => undefined);
      throw error;
    }
  }

  /** When the active reservation that expires first does (null: none is active). */
  async nextExpiry(): Promise<Date | null> {
    const { rows } = await this.#options.pool.query<{ expires_at: Date }>(
      `SELECT expires_at FROM reservations WHERE status = 'active' ORDER BY expires_at LIMIT 1`,
    );
    return rows[0]?.expires_at ?? null;
  }

  async expireDue(limit = 100): Promise<number> {
    const { rows } = await this.#options.pool.query<{ id: string }>(
      `SELECT id FROM reservations WHERE status = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [this.#options.now(), limit],
    );
    let expired = 0;
    for (const { id } of rows) {
      const reservation = await this.#transition(id, 'expire').catch(() => undefined);
      if (reservation?.status === 'expired') expired += 1;
    }
    return expired;
  }

  async setStock(sku: string, warehouseId: string, available: number): Promise<void> {
    await inTransaction(this.#options.pool, async (client) => {
      await client.query(
        `INSERT INTO stock_levels (sku, warehouse_id, available) VALUES ($1, $2, $3)
         ON CONFLICT (sku, warehouse_id) DO UPDATE SET available = EXCLUDED.available`,
        [sku, warehouseId, available],
      );
    });
  }

  #transition(reservationId: string, action: ReservationAction): Promise<Reservation> {
    return inTransaction(this.#options.pool, (client) => this.#transitionIn(client, reservationId, action));
  }

  async #transitionIn(
    client: Transaction,
    reservationId: string,
    action: ReservationAction,
  ): Promise<Reservation> {
    const now = this.#options.now();
    const reservation = await this.#lockReservation(client, reservationId);
    if (!reservation) throw inventoryErrors.reservationNotFound(reservationId);
    if ('failed' in reservation)
      throw inventoryErrors.rejectedTransition(reservationId, { reason: 'not_active', status: 'released' });
    const next = transition(reservation, action, now);
    if (!next.ok) throw inventoryErrors.rejectedTransition(reservationId, next.error);
    if (next.value.effect === 'none') return reservation;

    const moves = { consume_reserved: 'consume', return_to_available: 'return', restock: 'restock' } as const;
    await legacyStock.holdOwnerFor(client, reservation.allocations);
    await this.#moveStock(client, reservation.allocations, moves[next.value.effect]);
    await client.query('UPDATE reservations SET status = $2, updated_at = $3 WHERE id = $1', [
      reservationId,
      next.value.status,
      now,
    ]);
    if (next.value.effect === 'return_to_available' || next.value.effect === 'restock') {
      const reason = next.value.status === 'expired' ? 'expired' : 'released';
      const messages = inventoryMessages(this.#options.correlationId(), now);
      await this.#options.outbox.append(client, [
        messages.released(reservationId, reason, reservation.allocations),
      ]);
    }
    if (next.value.effect === 'return_to_available' || next.value.effect === 'restock')
      await legacyStock.returnStranded(
        client,
        reservation.allocations,
        (lines) =>
          inventoryMessages(this.#options.correlationId(), now).shelfReturned(
            `${reservationId}:${next.value.status}`,
            false,
            lines,
          ),
        (entries) => this.#options.outbox.append(client, entries),
      );
    return { ...reservation, status: next.value.status };
  }

  /**
   * Takes the reservation's advisory lock for the rest of the transaction (two writers of one id
   * never interleave, even before its row exists), then reads it with its allocations as the writer
   * it may have waited for left it: one round trip (inventory_lock_reservation, a migration).
   */
  async #lockReservation(
    client: PoolClient,
    id: string,
  ): Promise<Reservation | { failed: Shortfall[] } | undefined> {
    const { rows } = await client.query<ReservationRow>(
      'SELECT id, status, expires_at, shortfall, allocations FROM inventory_lock_reservation($1)',
      [id],
    );
    const row = rows[0];
    if (!row) return undefined;
    if (row.status === 'failed') return { failed: row.shortfall ?? [] };
    return { id: row.id, status: row.status, expiresAt: row.expires_at, allocations: row.allocations };
  }

  /**
   * reserve: available → reserved; return: reserved → available; consume: reserved leaves;
   * restock: what left comes back to available.
   */
  async #moveStock(
    client: PoolClient,
    allocations: Allocation[],
    move: 'reserve' | 'return' | 'consume' | 'restock',
  ): Promise<void> {
    const [availableDelta, reservedDelta] = {
      reserve: [-1, 1],
      return: [1, -1],
      consume: [0, -1],
      restock: [1, 0],
    }[move];
    // Rows are locked in (sku, warehouse) order, as a reserve's SELECT … ORDER BY … FOR UPDATE locks
    // them, whatever join the planner picks for the update: a join scanning stock_levels in its
    // physical order locked a release's rows in another order than a concurrent reserve's, and the
    // two deadlocked (40P01; the property test found it; sorting the arrays passed in did not reach
    // the plan). Every row the update changes comes through `moved`, which has locked it, and all
    // rows before it in that order, by then.
    await client.query(
      `WITH moved AS MATERIALIZED (
         SELECT s.sku, s.warehouse_id, m.quantity
           FROM stock_levels s
           JOIN unnest($1::text[], $2::text[], $3::int[]) AS m(sku, warehouse_id, quantity)
             ON s.sku = m.sku AND s.warehouse_id = m.warehouse_id
          ORDER BY s.sku, s.warehouse_id
            FOR UPDATE OF s
       )
       UPDATE stock_levels s SET available = s.available + $4 * moved.quantity, reserved = s.reserved + $5 * moved.quantity
         FROM moved
        WHERE s.sku = moved.sku AND s.warehouse_id = moved.warehouse_id`,
      [
        allocations.map((a) => a.sku),
        allocations.map((a) => a.warehouseId),
        allocations.map((a) => a.quantity),
        availableDelta,
        reservedDelta,
      ],
    );
  }
}
