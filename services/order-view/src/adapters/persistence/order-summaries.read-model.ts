import type { ReadModel, ReadModelEvent, Transaction } from '@mercato/chassis';
import { applyLegacyChange, type LegacyOrderChange } from '../../domain/legacy-order-summary.ts';
import { applyFact, emptySummary, type OrderSummary } from '../../domain/order-summary.ts';
import {
  isLegacyEvent,
  type LegacyFact,
  legacyContracts,
  legacyFactOf,
  unknownProductSku,
} from './legacy-order-facts.ts';
import { createLegacySkusTable, LEGACY_SKUS_TABLE, saveSkus, selectSkus } from './legacy-product-skus.ts';
import { factOf, type Located, orderViewContracts } from './order-facts.ts';
import {
  createSummariesTable,
  deleteSummaries,
  SUMMARIES_TABLE,
  selectSummaries,
  upsertSummaries,
} from './order-summary-rows.ts';

type Fact = { legacy: false; located: Located } | { legacy: true; fact: LegacyFact };

const factOfAny = (event: ReadModelEvent): Fact =>
  isLegacyEvent(event)
    ? { legacy: true, fact: legacyFactOf(event) }
    : { legacy: false, located: factOf(event) };

/** What a batch works on: the rows it touches (undefined: the order is gone) and the SKUs it knows. */
interface Folding {
  summaries: Map<string, OrderSummary | undefined>;
  skus: Map<string, string | null>;
  skusChanged: Map<string, string | null>;
}

function foldLegacy(folding: Folding, fact: LegacyFact): void {
  if (fact.kind === 'product') {
    folding.skus.set(fact.productId, fact.sku);
    folding.skusChanged.set(fact.productId, fact.sku);
    return;
  }
  const change: LegacyOrderChange =
    fact.kind === 'line'
      ? {
          type: 'line_changed',
          line: { ...fact.line, sku: folding.skus.get(fact.productId) ?? unknownProductSku(fact.productId) },
        }
      : fact.change;
  const before = folding.summaries.get(fact.orderId);
  folding.summaries.set(fact.orderId, applyLegacyChange(before, fact.orderId, change, fact.at));
}

/**
 * A row per order, from the services' order, payment and shipment events and, while the monolith
 * is migrated, from its order rows (`legacy.*` changes; its products only for the SKUs of lines).
 * A batch is folded in memory over the rows it touches and written in one upsert.
 */
export const orderSummariesReadModel: ReadModel = {
  name: 'order_view',
  topics: [...orderViewContracts, ...legacyContracts].map((contract) => contract.type),
  contracts: [...orderViewContracts, ...legacyContracts],
  tables: [SUMMARIES_TABLE, LEGACY_SKUS_TABLE],
  async createTables(transaction: Transaction, schema: string) {
    await createSummariesTable(transaction, schema);
    await createLegacySkusTable(transaction, schema, { fromStart: true });
  },
  async apply(transaction, schema, events) {
    const facts = events.map(factOfAny);
    const orderIds = new Set<string>();
    const lineProducts = new Set<string>();
    for (const fact of facts) {
      if (!fact.legacy) orderIds.add(fact.located.orderId);
      else if (fact.fact.kind !== 'product') orderIds.add(fact.fact.orderId);
      if (fact.legacy && fact.fact.kind === 'line') lineProducts.add(fact.fact.productId);
    }
    const folding: Folding = {
      summaries: await selectSummaries(transaction, schema, [...orderIds]),
      skus: await selectSkus(transaction, schema, [...lineProducts]),
      skusChanged: new Map(),
    };
    for (const fact of facts) {
      if (fact.legacy) {
        foldLegacy(folding, fact.fact);
        continue;
      }
      const { orderId, fact: summaryFact, at, orderVersion } = fact.located;
      const before = folding.summaries.get(orderId) ?? emptySummary(orderId, at);
      folding.summaries.set(orderId, applyFact(before, summaryFact, at, orderVersion));
    }
    const rows = [...folding.summaries];
    await upsertSummaries(
      transaction,
      schema,
      rows.flatMap(([, summary]) => (summary ? [summary] : [])),
    );
    await deleteSummaries(
      transaction,
      schema,
      rows.filter(([, summary]) => !summary).map(([orderId]) => orderId),
    );
    await saveSkus(transaction, schema, folding.skusChanged);
  },
};
