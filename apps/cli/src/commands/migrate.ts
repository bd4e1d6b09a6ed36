import { driftOf } from '../migration/drift.ts';
import type { DriftReport } from '../migration/drift-checker.ts';
import type { RetirementRecord } from '../migration/retirement.ts';
import { type AdminCall, adminClient, fail, runAccess } from './admin-client.ts';

/** How long `move orders` waits for inventory to take the monolith's shelf over. */
const SHELF_TAKEN_WITHIN_MS = 60_000;

const usage =
  'usage: mercato migrate check [--settle-ms N] | mercato migrate move customers|orders|registrations [--back | --force] | mercato migrate retire';

/** The checker's report as a table: each table's rows on both sides and what differs. */
export function formatDrift(report: DriftReport & { retired?: { at: string; lsn: string } }): string {
  const rows = [
    ['table', 'monolith', 'service', 'missing', 'differing', 'extra'],
    ...Object.entries(report.tables).map(([name, table]) => [
      name,
      String(table.source),
      String(table.target),
      String(table.missing),
      String(table.differing),
      String(table.extra),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const examples = Object.entries(report.tables).flatMap(([name, table]) =>
    table.examples.map(
      (example) =>
        `  ${name} ${example.key}: ${example.kind}${example.source ? `; monolith ${example.source}` : ''}${example.target ? `; service ${example.target}` : ''}`,
    ),
  );
  return [
    ...(report.retired
      ? [
          `the monolith retired at ${report.retired.at} (its log ended at ${report.retired.lsn}); its last check:`,
        ]
      : []),
    `drift ${report.drift} at ${report.at} (${report.inFlight} rows in flight left out, ${report.rechecks} rechecks)`,
    ...lines,
    `order totals: monolith ${report.totals.legacy}, order-view ${report.totals.orderView} (cents)`,
    ...(examples.length > 0 ? ['examples:', ...examples] : []),
  ].join('\n');
}

/**
 * `mercato migrate check`: asks the running platform's supervisor to compare the monolith's
 * customers and orders with the services' copies; exits 0 with no drift, 1 with some.
 * `mercato migrate move customers [--back]`: phase 3 for customers (docs/strangler-fig.md).
 */
export async function migrateCommand(args: string[], dataDir: string): Promise<number> {
  const [sub, flag, value] = args;
  if (sub === 'move') {
    if (
      (flag !== 'customers' && flag !== 'orders' && flag !== 'registrations') ||
      args.length > 3 ||
      (value !== undefined && value !== '--back' && value !== '--force')
    )
      return fail(usage);
    if (flag === 'orders')
      return value === '--back' ? handOrdersBack(dataDir) : moveOrders(dataDir, value === '--force');
    if (flag === 'registrations') return moveRegistrations(dataDir, value);
    return value === '--back' ? handCustomersBack(dataDir) : moveCustomers(dataDir, value === '--force');
  }
  if (sub === 'retire') return args.length === 1 ? retire(dataDir) : fail(usage);
  if (sub !== 'check') return fail(usage);
  if (flag !== undefined && (flag !== '--settle-ms' || !/^\d{1,6}$/.test(value ?? ''))) return fail(usage);
  const report = await askForDrift(dataDir, value === undefined ? '' : `?settle_ms=${value}`);
  if (typeof report === 'string') return fail(report);
  process.stdout.write(`${formatDrift(report)}\n`);
  return report.drift === 0 ? 0 : 1;
}

/** The running platform's checker (the supervisor's), or why it could not be asked. */
const askForDrift = (dataDir: string, query: string) =>
  askSupervisor<DriftReport & { retired?: { at: string; lsn: string } }>(
    dataDir,
    'GET',
    `/admin/migration/drift${query}`,
  );

/** One of the supervisor's migration endpoints, or why it could not be asked. */
async function askSupervisor<T>(dataDir: string, method: 'GET' | 'POST', path: string): Promise<T | string> {
  const access = await runAccess(dataDir);
  if (typeof access === 'string') return access;
  const supervisor = access.state.supervisor.url;
  const response = await fetch(`${supervisor}${path}`, {
    method,
    headers: { authorization: `Bearer ${access.token}` },
  }).catch((error: Error) => error);
  if (response instanceof Error) return `the supervisor did not answer at ${supervisor}: ${response.message}`;
  const body = (await response.json().catch(() => ({}))) as T & { detail?: string };
  if (!response.ok) return body.detail ?? `the supervisor answered ${response.status}`;
  return body;
}

/**
 * `mercato migrate retire` (phase N): the services keep what they took for good, the monolith
 * retires once it writes nothing and its orders finished, its last changes reach the services, the
 * checker finds no drift; then its capture stops, the slot and publication are dropped, and it stops.
 */
async function retire(dataDir: string): Promise<number> {
  const record = await askSupervisor<RetirementRecord>(dataDir, 'POST', '/admin/migration/retire');
  if (typeof record === 'string') return fail(record);
  process.stdout.write(
    `${formatDrift(record.report)}\nthe monolith retired at ${record.retiredAt} (its log ended at ${record.lsn}); ` +
      `dropped slot ${record.dropped.slots.join(', ') || '(none)'} and publication ${record.dropped.publications.join(', ') || '(none)'}; ` +
      'the monolith and its capture are stopped (its database is kept)\n',
  );
  return 0;
}

/** The monolith's API as the run's operator, or why it cannot be asked. */
async function monolithAdmin(dataDir: string): Promise<AdminCall | string> {
  const call = await adminClient('legacy', dataDir);
  return typeof call === 'string' ? `${call} (start with --legacy)` : call;
}

/** Gives `capability` to `owner` in the monolith's table (its move waits for the writes in flight). */
async function giveCapability(
  monolith: AdminCall,
  capability: 'customers' | 'orders' | 'registrations',
  owner: 'monolith' | 'services',
): Promise<{ owner?: string; changedAt?: string } | string> {
  const { ok, body } = await monolith('PUT', `/api/capabilities/${capability}`, { owner });
  const answer = body as { owner?: string; changedAt?: string; detail?: string };
  return ok ? answer : (answer.detail ?? 'the monolith refused the move');
}

/**
 * `mercato migrate move customers [--force]` (phase 3): the monolith gives customers up, once the
 * checker finds the services' customers and accounts equal to its own (`--force`: without asking). Its move waits for
 * its writes in flight, then it refuses customer writes; the services take them once they have
 * applied everything it wrote before. The edge sends `PATCH /legacy/api/customers/:id` to whichever
 * side writes when its routing table has the `legacy-customer-writes` route (docs/strangler-fig.md).
 */
async function moveCustomers(dataDir: string, force: boolean): Promise<number> {
  const monolith = await monolithAdmin(dataDir);
  if (typeof monolith === 'string') return fail(monolith);
  if (!force) {
    // Once moved, the services write what they hold: a copy that differs would be written on.
    const refused = await differing(dataDir, 'customers', ['customers', 'accounts']);
    if (refused !== undefined) return refused;
  }
  const answer = await giveCapability(monolith, 'customers', 'services');
  if (typeof answer === 'string') return fail(answer);
  process.stdout.write(`customers: written by the ${answer.owner} since ${answer.changedAt}\n`);
  return 0;
}

/**
 * Asks the checker, and answers the command's failure when the services' copies of `tables` differ
 * from the monolith's (nothing when they are equal).
 */
async function differing(
  dataDir: string,
  capability: string,
  tables: Array<keyof DriftReport['tables']>,
): Promise<number | undefined> {
  const report = await askForDrift(dataDir, '');
  if (typeof report === 'string') return fail(report);
  const rows = tables.reduce((sum, table) => sum + driftOf(report.tables[table]), 0);
  if (rows === 0) return undefined;
  process.stdout.write(`${formatDrift(report)}\n`);
  return fail(
    `the services' ${tables.join(', ')} differ from the monolith's in ${rows} rows (above): moved now, ` +
      `they would go on with ${capability} as they hold them. Find why (mercato migrate check), or move anyway with --force`,
  );
}

/**
 * `mercato migrate move orders [--force]` (phase 3 for orders): the monolith takes no new order once
 * those in flight committed, and finishes the orders it took; the services take new ones (`POST
 * /api/orders`), and inventory takes its shelf over once it has every stock change made before.
 * Checked first: the services' products, prices and copy of the shelf equal to the monolith's.
 */
async function moveOrders(dataDir: string, force: boolean): Promise<number> {
  const monolith = await monolithAdmin(dataDir);
  if (typeof monolith === 'string') return fail(monolith);
  if (!force) {
    const refused = await differing(dataDir, 'orders', ['products', 'prices', 'stock']);
    if (refused !== undefined) return refused;
  }
  const inventory = await adminClient('inventory', dataDir);
  if (typeof inventory === 'string') return fail(inventory);
  const answer = await giveCapability(monolith, 'orders', 'services');
  if (typeof answer === 'string') return fail(answer);
  process.stdout.write(
    `orders: new ones taken by the services since ${answer.changedAt}; the monolith finishes those it took\n`,
  );
  // Switch the shop's front end to the services' orders once inventory sells from the shelf.
  const taken = await awaitOwner(inventory, '/admin/legacy/orders', 'services', (owner) =>
    fail(
      `inventory has not taken the monolith's shelf within ${SHELF_TAKEN_WITHIN_MS / 1_000} s (it says ${owner}): ` +
        "its copy of the monolith's stock is behind; new orders of its products wait meanwhile",
    ),
  );
  if (taken !== undefined) return taken;
  process.stdout.write("orders: inventory sells from the monolith's shelf\n");
  return 0;
}

/** Asks `path` every 100 ms until it says `wanted` (its `owner`, or that of its `orders` item). */
async function awaitOwner(
  call: AdminCall,
  path: string,
  wanted: string,
  late: (owner: string) => number,
): Promise<number | undefined> {
  const deadline = Date.now() + SHELF_TAKEN_WITHIN_MS;
  for (;;) {
    const { ok, body } = await call('GET', path);
    const answer = body as { owner?: string; items?: Array<{ name: string; owner: string }> };
    const owner = answer.owner ?? answer.items?.find((item) => item.name === 'orders')?.owner ?? 'nothing';
    if (ok && owner === wanted) return undefined;
    if (Date.now() > deadline) return late(owner);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * `mercato migrate move orders --back` (phase 3 for orders undone): inventory stops reserving from
 * the monolith's shelf and gives it what it holds there; the monolith takes new orders again once
 * that is on its shelf (legacy-cdc, one transaction), and inventory follows its shelf again.
 * Returns once both say so: switch the shop's front end back to the monolith's orders then.
 */
async function handOrdersBack(dataDir: string): Promise<number> {
  const inventory = await adminClient('inventory', dataDir);
  if (typeof inventory === 'string') return fail(inventory);
  const monolith = await monolithAdmin(dataDir);
  if (typeof monolith === 'string') return fail(monolith);
  const { ok, body } = await inventory('POST', '/admin/legacy/orders/hand-back');
  const answer = body as { owner?: string; detail?: string };
  if (!ok) return fail(answer.detail ?? 'inventory refused the hand-back');
  if (answer.owner === 'monolith') {
    process.stdout.write('orders: taken by the monolith already\n');
    return 0;
  }
  if (answer.owner === 'moving')
    return fail(
      'orders are still moving to the services; hand them back once inventory sells from the shelf',
    );
  process.stdout.write("orders: inventory gave the monolith's shelf back\n");
  const late = (what: string) => (owner: string) =>
    fail(`${what} within ${SHELF_TAKEN_WITHIN_MS / 1_000} s (it says ${owner}): is legacy-cdc running?`);
  const back =
    (await awaitOwner(
      monolith,
      '/api/capabilities',
      'monolith',
      late('the monolith has not taken orders back'),
    )) ??
    (await awaitOwner(
      inventory,
      '/admin/legacy/orders',
      'monolith',
      late('inventory has not seen the monolith take orders back'),
    ));
  if (back !== undefined) return back;
  process.stdout.write('orders: taken by the monolith again, its shelf whole\n');
  return 0;
}

/**
 * `mercato migrate move registrations [--back | --force]` (phase 3): the monolith signs nobody up
 * once the registrations in flight committed (identity does: `POST /api/auth/register`); the
 * customers it signed up before are the services' already. Back is the monolith's to take: the
 * services keep whom they signed up, and nothing has to come back first.
 */
async function moveRegistrations(dataDir: string, flag: string | undefined): Promise<number> {
  const monolith = await monolithAdmin(dataDir);
  if (typeof monolith === 'string') return fail(monolith);
  if (flag === undefined) {
    const refused = await differing(dataDir, 'registrations', ['customers', 'accounts']);
    if (refused !== undefined) return refused;
  }
  const answer = await giveCapability(monolith, 'registrations', flag === '--back' ? 'monolith' : 'services');
  if (typeof answer === 'string') return fail(answer);
  process.stdout.write(`registrations: taken by the ${answer.owner} since ${answer.changedAt}\n`);
  return 0;
}

/**
 * `mercato migrate move customers --back`: the services give customers back. customer stops taking
 * profile writes once those in flight committed; the monolith takes customers back when the last of
 * them is written into it (legacy-cdc), and the edge's held writes then go to it.
 */
async function handCustomersBack(dataDir: string): Promise<number> {
  const call = await adminClient('customer', dataDir);
  if (typeof call === 'string') return fail(call);
  const { ok, body } = await call('POST', '/admin/legacy/customers/hand-back');
  const answer = body as { owner?: string; detail?: string };
  if (!ok) return fail(answer.detail ?? 'customer refused the hand-back');
  if (answer.owner === 'moving')
    return fail('customers are still moving to the services; hand them back once they own them');
  process.stdout.write(
    answer.owner === 'monolith'
      ? 'customers: written by the monolith already\n'
      : "customers: handed back; the monolith takes them once the services' last changes are written into it\n",
  );
  return 0;
}
