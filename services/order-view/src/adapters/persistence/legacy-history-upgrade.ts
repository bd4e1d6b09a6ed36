import { inTransaction, type Pool, type ReadModel } from '@mercato/chassis';
import { createLegacySkusTable, FOLDED_FROM_START, LEGACY_SKUS_TABLE } from './legacy-product-skus.ts';

const quoted = (identifier: string) => `"${identifier.replaceAll('"', '""')}"`;

/**
 * Readies the generations a release before this one built, which did not read the monolith's
 * changes: each gets the table it lacks (the runner goes on applying new batches to them until a
 * rebuilt copy replaces them), and the answer says whether the live one must be rebuilt: reading
 * the log, it stepped over whatever the change capture had already published (the snapshot of
 * every order, at least). Run before the read model starts; a start that dies before asking for the
 * rebuild asks again next time, since only a generation built from the start carries the mark.
 */
export async function prepareForLegacyHistory(db: Pool, model: ReadModel): Promise<{ rebuild: boolean }> {
  return inTransaction(db, async (transaction) => {
    // The runner's own lock on creating generations, so that neither interleaves with the other.
    await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`read-model:${model.name}`]);
    // A table missing has no mark either; the one created for it gets none.
    const { rows } = await transaction.query<{
      schema_name: string;
      status: string;
      present: boolean;
      mark: string | null;
    }>(
      `SELECT schema_name, status, to_regclass(format('%I.%I', schema_name, $1::text)) IS NOT NULL AS present,
              obj_description(to_regclass(format('%I.%I', schema_name, $1::text)), 'pg_class') AS mark
         FROM read_model_generations WHERE status IN ('live', 'building')`,
      [LEGACY_SKUS_TABLE],
    );
    for (const row of rows)
      if (!row.present)
        await createLegacySkusTable(transaction, quoted(row.schema_name), { fromStart: false });
    const live = rows.find((row) => row.status === 'live');
    const building = rows.some((row) => row.status === 'building');
    return { rebuild: live !== undefined && live.mark !== FOLDED_FROM_START && !building };
  });
}
