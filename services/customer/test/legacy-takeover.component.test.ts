import { Code } from '@connectrpc/connect';
import {
  connectTestBus,
  grpcFailure,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { type Envelope, legacyCapabilityChanged, legacyCustomerChanged } from '@mercato/contracts';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerConfig } from '../src/config.ts';
import { customerDefinition } from '../src/customer.service.ts';

const postgres = await probePostgres();
const ADMIN_TOKEN = 'a'.repeat(43);

describe.skipIf(!postgres.available)(
  suiteTitle('customer takes over the monolith’s customers', postgres),
  () => {
    let running: TestService<CustomerConfig>;
    let messageStore: TestBus;
    const client = () => running.client(CustomerService);
    let sequence = 0;

    beforeAll(async () => {
      running = await startTestService(customerDefinition, { MERCATO_ADMIN_TOKEN: ADMIN_TOKEN });
      messageStore = connectTestBus(running.messagesUrl);
    });
    afterAll(async () => {
      await messageStore?.close();
      await running?.stop();
    });

    /** A captured change of legacy customer `id`, as change data capture publishes it. */
    const captured = (
      id: string,
      row: { name: string; email?: string; address?: string; updatedAt: string } | null,
      committedAt = sequence + 1,
    ): Envelope => {
      sequence += 1;
      const lsn = `0/${(0x1000 + committedAt * 0x100).toString(16).toUpperCase()}`;
      return {
        event_id: `cdc_t${lsn}:${sequence}`,
        event_type: legacyCustomerChanged.type,
        event_version: legacyCustomerChanged.version,
        timestamp: new Date().toISOString(),
        source: 'legacy-cdc',
        correlation_id: `cdc_${sequence}`,
        causation_id: null,
        data: {
          op: row ? 'update' : 'delete',
          key: { id },
          row: row && {
            id,
            email: row.email ?? `customer${id}@legacy.example`,
            name: row.name,
            password_hash: 'sha256$s$00',
            address: row.address ?? '1 Old Street',
            created_at: '2023-01-01T00:00:00.000Z',
            updated_at: row.updatedAt,
          },
          source: {
            kind: 'stream',
            lsn,
            tx_id: sequence,
            committed_at: row?.updatedAt ?? '2025-01-01T00:00:00.000Z',
          },
        },
        metadata: {},
      };
    };
    const publish = (...envelopes: Envelope[]) =>
      messageStore.bus.publish(
        envelopes.map((envelope) => ({
          kind: 'topic' as const,
          destination: legacyCustomerChanged.type,
          key: String((envelope.data.key as { id: string }).id),
          envelope,
        })),
      );
    /** The monolith's `capabilities` row for customers, captured at the next position. */
    const publishMove = (owner: 'monolith' | 'services', committedAt = sequence + 1) => {
      sequence += 1;
      const lsn = `0/${(0x1000 + committedAt * 0x100).toString(16).toUpperCase()}`;
      return messageStore.bus.publish([
        {
          kind: 'topic',
          destination: legacyCapabilityChanged.type,
          key: 'customers',
          envelope: {
            event_id: `cdc_t${lsn}:${sequence}`,
            event_type: legacyCapabilityChanged.type,
            event_version: legacyCapabilityChanged.version,
            timestamp: new Date().toISOString(),
            source: 'legacy-cdc',
            correlation_id: `cdc_${sequence}`,
            causation_id: null,
            data: {
              op: 'update',
              key: { name: 'customers' },
              row: { name: 'customers', owner, changed_at: '2025-06-01T00:00:00.000Z' },
              source: { kind: 'stream', lsn, tx_id: sequence, committed_at: '2025-06-01T00:00:00.000Z' },
            },
            metadata: {},
          },
        },
      ]);
    };
    const profile = (id: string) =>
      client()
        .getCustomer({ id })
        .then(
          (answer) => answer.customer,
          () => undefined,
        );

    it('creates the profile usr_legacy_<id> from a captured row, once when delivered twice', async () => {
      const change = captured('42', { name: 'Customer 42', updatedAt: '2024-01-01T00:00:00.000Z' });
      await publish(change, change);
      await waitFor('the profile', async () => (await profile('usr_legacy_42')) !== undefined);
      // What the monolith holds, its own timestamps included, as its API would answer them.
      expect(await profile('usr_legacy_42')).toMatchObject({
        email: 'customer42@legacy.example',
        name: 'Customer 42',
        address: '1 Old Street',
        segment: 'standard',
        createdAt: '2023-01-01T00:00:00.000Z',
        updatedAt: '2024-01-01T00:00:00.000Z',
      });
      await waitFor('customer.updated announced', async () => {
        const { rows } = await messageStore.messages.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM bus_messages WHERE destination = 'customer.updated' AND partition_key = 'usr_legacy_42'",
        );
        return rows[0]?.n === 1;
      });
    });

    it('follows later changes and ignores older ones that arrive after them', async () => {
      await publish(
        captured('43', { name: 'First', updatedAt: '2024-01-01T00:00:00.000Z' }),
        captured('43', {
          name: 'Newest',
          email: 'new43@legacy.example',
          address: '43 New Road',
          updatedAt: '2024-03-01T00:00:00.000Z',
        }),
        // Committed before 'Newest' (its log position is lower), delivered after it.
        captured('43', { name: 'Replayed older', updatedAt: '2024-02-01T00:00:00.000Z' }, sequence - 1),
        captured('44', { name: 'Marker', updatedAt: '2024-01-01T00:00:00.000Z' }),
      );
      await waitFor('the marker after them', async () => (await profile('usr_legacy_44')) !== undefined);
      await waitFor('every change of 43 handled', async () => {
        const handled = await running.service.db?.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = 'customer-legacy'",
        );
        return (handled?.rows[0]?.n ?? 0) >= 5;
      });
      expect(await profile('usr_legacy_43')).toMatchObject({
        name: 'Newest',
        email: 'new43@legacy.example',
        address: '43 New Road',
        updatedAt: '2024-03-01T00:00:00.000Z',
      });
    });

    it('refuses a rename of a profile the monolith keeps, naming where to make it; the monolith’s next change still applies', async () => {
      await publish(captured('46', { name: 'Kept There', updatedAt: '2024-01-01T00:00:00.000Z' }));
      await waitFor('the profile', async () => (await profile('usr_legacy_46')) !== undefined);
      const refused = await grpcFailure(
        client().updateProfile({ id: 'usr_legacy_46', name: 'Written Here' }),
      );
      expect(refused?.code).toBe(Code.FailedPrecondition);
      expect(refused?.metadata.get('mercato-error-code')).toBe('CUSTOMER.KEPT_BY_MONOLITH');
      expect(refused?.rawMessage).toContain('PATCH /legacy/api/customers/46');
      expect(await profile('usr_legacy_46')).toMatchObject({ name: 'Kept There' });
      // Preferences are the service's own: the monolith has none.
      const preferences = { marketingEmails: true, language: 'de', currency: 'EUR' };
      const withPreferences = await client().updatePreferences({ id: 'usr_legacy_46', preferences });
      expect(withPreferences.customer?.preferences).toMatchObject(preferences);
      // The monolith's update time stays: the checker compares it with the monolith's row.
      expect(withPreferences.customer?.updatedAt).toBe('2024-01-01T00:00:00.000Z');
      await publish(captured('46', { name: 'Renamed There', updatedAt: '2024-02-01T00:00:00.000Z' }));
      await waitFor(
        'the monolith’s rename',
        async () => (await profile('usr_legacy_46'))?.name === 'Renamed There',
      );
      expect((await profile('usr_legacy_46'))?.preferences).toMatchObject(preferences);
      // The service's own customers are renamed as before.
      expect(
        (await grpcFailure(client().updateProfile({ id: 'usr_legacy_x', name: 'Not Legacy' })))?.code,
      ).toBe(Code.NotFound);
    });

    it('keeps the profile when the monolith deletes the row', async () => {
      await publish(
        captured('42', null),
        captured('45', { name: 'After', updatedAt: '2024-01-01T00:00:00.000Z' }),
      );
      await waitFor('the change after it', async () => (await profile('usr_legacy_45')) !== undefined);
      expect(await profile('usr_legacy_42')).toMatchObject({ name: 'Customer 42' });
    });

    it('takes the snapshot’s row of who writes customers (the monolith) for what is already so', async () => {
      // The capture's snapshot carries the capabilities row too, at the slot's consistent point: the
      // rows snapshot with it (at that same position) and later changes still apply.
      const snapshotAt = sequence + 1;
      await publishMove('monolith', snapshotAt);
      await waitFor('the row handled', async () => {
        const handled = await running.service.db?.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = 'customer-legacy-owner'",
        );
        return handled?.rows[0]?.n === 1;
      });
      await publish(
        captured('50', { name: 'Snapshot Beside It', updatedAt: '2024-01-01T00:00:00.000Z' }, snapshotAt),
      );
      await waitFor('the profile', async () => (await profile('usr_legacy_50')) !== undefined);
    });

    // Last: it moves customers to the services for the rest of this service's life.
    it('phase 3: takes profile writes once the monolith gave customers up, announces them for the monolith, ignores their echoes', async () => {
      await publish(captured('47', { name: 'Before The Move', updatedAt: '2024-01-01T00:00:00.000Z' }));
      await waitFor('the profile', async () => (await profile('usr_legacy_47')) !== undefined);
      await publishMove('services');
      // Refused (kept by the monolith) until the move is seen; then held (moving) until every earlier
      // change is applied, which here is at once; then written.
      let written: Awaited<ReturnType<ReturnType<typeof client>['updateProfile']>> | undefined;
      await waitFor('the services writing customers', async () => {
        written = await client()
          .updateProfile({ id: 'usr_legacy_47', name: '', address: '47 Moved Road' })
          .catch(() => undefined);
        return written !== undefined;
      });
      expect(written?.customer).toMatchObject({ name: 'Before The Move', address: '47 Moved Road' });
      const renamed = await client().updateProfile({ id: 'usr_legacy_47', name: 'Written Here' });
      expect(renamed.customer).toMatchObject({ name: 'Written Here', address: '47 Moved Road' });
      // Announced with what the monolith's copy follows: the address and the update time.
      const latest = async () => {
        const { rows } = await messageStore.messages.query<{ data: { name: string; updated_at?: string } }>(
          `SELECT envelope->'data' AS data FROM bus_messages
           WHERE destination = 'customer.updated' AND partition_key = 'usr_legacy_47' ORDER BY position DESC LIMIT 1`,
        );
        return rows[0]?.data;
      };
      await waitFor('the rename announced', async () => (await latest())?.name === 'Written Here');
      expect(await latest()).toMatchObject({
        address: '47 Moved Road',
        updated_at: renamed.customer?.updatedAt,
      });
      // The monolith's copy taken back comes round as a change: an echo, left alone; a customer it
      // registers since is still taken.
      await publish(
        captured('47', { name: 'An Echo Of An Older Write', updatedAt: '2025-07-01T00:00:00.000Z' }),
        captured('49', { name: 'Registered There After', updatedAt: '2025-07-01T00:00:00.000Z' }),
      );
      await waitFor('the new customer', async () => (await profile('usr_legacy_49')) !== undefined);
      expect(await profile('usr_legacy_47')).toMatchObject({
        name: 'Written Here',
        address: '47 Moved Road',
      });
      // An empty edit is refused as such.
      expect((await grpcFailure(client().updateProfile({ id: 'usr_legacy_47', name: '' })))?.code).toBe(
        Code.InvalidArgument,
      );

      // While the monolith retires, nothing goes back to it: the services keep its customers.
      const retirement = (retired: boolean, forGood = false) =>
        fetch(`${running.url}/admin/legacy/retirement`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ retired, for_good: forGood }),
        });
      const marked = await retirement(true);
      expect(marked.status).toBe(200);
      expect(Date.parse(((await marked.json()) as { retired_at: string }).retired_at)).toBeGreaterThan(0);
      const keptHere = await fetch(`${running.url}/admin/legacy/customers/hand-back`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(keptHere.status).toBe(409);
      expect(await keptHere.json()).toMatchObject({ code: 'CUSTOMER.MONOLITH_RETIRED' });
      expect(
        (await client().updateProfile({ id: 'usr_legacy_47', name: 'Written Here' })).customer?.name,
      ).toBe('Written Here');
      // The monolith refused to retire: unmarked, customers may go back.
      expect(await (await retirement(false)).json()).toEqual({ retired_at: null, for_good: false });

      // Handed back: no profile write from here, announced after the last change written.
      const handedBack = await fetch(`${running.url}/admin/legacy/customers/hand-back`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(await handedBack.json()).toEqual({ owner: 'returning' });
      const refused = await grpcFailure(client().updateProfile({ id: 'usr_legacy_47', name: 'Too Late' }));
      expect(refused?.metadata.get('mercato-error-code')).toBe('CUSTOMER.MOVE_IN_PROGRESS');
      await waitFor('the hand-back announced after the rename', async () => {
        const { rows } = await messageStore.messages.query<{ destination: string }>(
          `SELECT destination FROM bus_messages WHERE destination IN ('customer.updated', 'customer.legacy_handed_back')
           ORDER BY position DESC LIMIT 1`,
        );
        return rows[0]?.destination === 'customer.legacy_handed_back';
      });
      // Changes that arrive before the monolith's taking back is seen wait for it: then one from
      // before it (an echo of the services' write) is left alone, one from after it applied.
      const echo = sequence + 1;
      const takenBack = sequence + 2;
      await publish(
        captured('49', { name: 'An Echo Of 49', updatedAt: '2025-08-01T00:00:00.000Z' }, echo),
        captured('47', { name: 'Renamed There Again', updatedAt: '2025-09-01T00:00:00.000Z' }, takenBack + 1),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await profile('usr_legacy_47')).toMatchObject({ name: 'Written Here' });
      // Not retiring while customers are not the services' for good.
      const notMoved = await retirement(true);
      expect(notMoved.status).toBe(409);
      expect(await notMoved.json()).toMatchObject({ code: 'CUSTOMER.NOT_MOVED' });
      await publishMove('monolith', takenBack);
      await waitFor(
        'the monolith’s write after it took customers back',
        async () => (await profile('usr_legacy_47'))?.name === 'Renamed There Again',
      );
      await waitFor('the echo handled', async () => {
        const handled = await running.service.db?.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = 'customer-legacy' AND message_id = $1",
          [`cdc_t0/${(0x1000 + echo * 0x100).toString(16).toUpperCase()}:${echo}`],
        );
        return handled?.rows[0]?.n === 1;
      });
      expect(await profile('usr_legacy_49')).toMatchObject({ name: 'Registered There After' });
      const kept = await grpcFailure(
        client().updateProfile({ id: 'usr_legacy_47', name: 'Written Here Again' }),
      );
      expect(kept?.metadata.get('mercato-error-code')).toBe('CUSTOMER.KEPT_BY_MONOLITH');

      // Moved again, and the monolith did retire: the mark stays, nothing is handed back.
      await publishMove('services');
      await waitFor('the services writing customers again', async () =>
        client()
          .updateProfile({ id: 'usr_legacy_47', name: 'Written Here For Good' })
          .then(() => true)
          .catch(() => false),
      );
      expect(await (await retirement(true, true)).json()).toMatchObject({ for_good: true });
      const unmark = await retirement(false);
      expect(unmark.status).toBe(409);
      expect(await unmark.json()).toMatchObject({ code: 'CUSTOMER.MONOLITH_RETIRED' });
      const handBack = await fetch(`${running.url}/admin/legacy/customers/hand-back`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(handBack.status).toBe(409);
    });
  },
);
