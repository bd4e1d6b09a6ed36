import { createHash } from 'node:crypto';
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
import { createEnvelope, type Envelope, legacyCustomerChanged } from '@mercato/contracts';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityConfig } from '../src/config.ts';
import { identityDefinition } from '../src/identity.service.ts';

const postgres = await probePostgres();

/** The monolith's hash of customer n's seeded password `legacy-<n>` (apps/legacy/migrations). */
const seededHash = (n: number, password = `legacy-${n}`) =>
  `sha256$s${n}$${createHash('sha256').update(`s${n}${password}`).digest('hex')}`;

describe.skipIf(!postgres.available)(
  suiteTitle('identity takes over the monolith’s credentials', postgres),
  () => {
    let running: TestService<IdentityConfig>;
    let messageStore: TestBus;
    const client = () => running.client(IdentityService);
    const db = () => {
      const pool = running.service.db;
      if (!pool) throw new Error('identity has a database');
      return pool;
    };

    beforeAll(async () => {
      running = await startTestService(identityDefinition, {
        IDENTITY_SCRYPT_COST: '1024',
        IDENTITY_LOGIN_FREE_FAILURES_PER_CLIENT: '3',
        // Long enough that no hold runs out while a test looks at it.
        IDENTITY_LOGIN_FIRST_DELAY_MS: '60000',
      });
      messageStore = connectTestBus(running.messagesUrl);
    });
    afterAll(async () => {
      await messageStore?.close();
      await running?.stop();
    });

    let position = 0;
    /** The next commit position in the monolith's log, as change data capture writes it. */
    const nextLsn = () => {
      position += 1;
      return `0/${(0x16b3f28 + position * 0x40).toString(16).toUpperCase()}`;
    };

    /** A captured change of legacy customer n, with the id change data capture derives from its position. */
    const captured = (
      n: number,
      lsn: string,
      row: { email?: string; name?: string; passwordHash?: string } | null,
      { index = 0, op = row ? 'update' : 'delete' } = {} as {
        index?: number;
        op?: 'snapshot' | 'insert' | 'update' | 'delete';
      },
    ): Envelope => {
      const id = String(n);
      const committedAt = new Date(Date.UTC(2025, 0, 1) + position * 1_000).toISOString();
      const envelope = createEnvelope({
        contract: legacyCustomerChanged,
        source: 'legacy-cdc',
        correlationId: `cdc_${position}`,
        data: {
          op,
          key: { id },
          row: row && {
            id,
            email: row.email ?? `customer${n}@legacy.example`,
            name: row.name ?? `Customer ${n}`,
            password_hash: row.passwordHash ?? seededHash(n),
            address: `${n} Old Street, Oldtown`,
            created_at: '2023-01-01T00:00:00.000Z',
            updated_at: committedAt,
          },
          source: {
            kind: op === 'snapshot' ? 'snapshot' : 'stream',
            lsn,
            tx_id: position,
            committed_at: committedAt,
          },
        },
      });
      return { ...envelope, event_id: `cdc_${op === 'snapshot' ? 's' : 't'}${lsn}:${index}` };
    };

    /** Publishes the changes, in order, and waits until identity has handled each. */
    const deliver = async (...envelopes: Envelope[]) => {
      await messageStore.bus.publish(
        envelopes.map((envelope) => ({
          kind: 'topic' as const,
          destination: legacyCustomerChanged.type,
          key: String((envelope.data.key as { id: string }).id),
          envelope,
        })),
      );
      const ids = [...new Set(envelopes.map((envelope) => envelope.event_id))];
      await waitFor('identity handled the changes', async () => {
        const { rows } = await db().query<{ n: number }>(
          "SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = 'identity-legacy' AND message_id = ANY($1)",
          [ids],
        );
        return rows[0]?.n === ids.length;
      });
    };
    const snapshot = (n: number, row: { email?: string; name?: string } = {}) =>
      captured(n, '0/16B3F28', row, { op: 'snapshot', index: n });

    const account = async (n: number) => {
      const { rows } = await db().query<{
        email: string;
        name: string;
        password_hash: string;
        blocked_at: Date | null;
      }>('SELECT email, name, password_hash, blocked_at FROM users WHERE id = $1', [`usr_legacy_${n}`]);
      return rows[0];
    };
    const login = (email: string, password: string, clientIp = '198.51.100.1') =>
      client().login({ email, password, clientIp });
    const failure = async (call: Promise<unknown>) => {
      const error = await grpcFailure(call);
      return error && { code: error.code, reason: error.metadata.get('mercato-error-code') };
    };

    it("takes over a customer with the monolith's hash, and re-hashes it with scrypt at the first login", async () => {
      await deliver(snapshot(7));
      expect(await account(7)).toEqual({
        email: 'customer7@legacy.example',
        name: 'Customer 7',
        password_hash: seededHash(7),
        blocked_at: null,
      });

      const { tokens } = await login('Customer7@legacy.example', 'legacy-7');
      expect(decodeJwt(tokens?.accessToken ?? '')).toMatchObject({
        sub: 'usr_legacy_7',
        email: 'customer7@legacy.example',
        roles: ['customer'],
      });
      const rehashed = (await account(7))?.password_hash;
      expect(rehashed).toMatch(/^scrypt\$1024\$8\$1\$/);
      // From then on the scrypt hash is what signs the customer in.
      expect((await login('customer7@legacy.example', 'legacy-7')).tokens?.accessToken).toBeTruthy();
      expect((await account(7))?.password_hash).toBe(rehashed);
    });

    it('refuses a wrong password on a monolith hash as on any other, throttling included', async () => {
      await deliver(snapshot(8));
      const guesser = '203.0.113.8';
      for (const guess of ['legacy-9', 'Legacy-8', 'legacy-8 '])
        expect(await failure(login('customer8@legacy.example', guess, guesser))).toEqual({
          code: Code.Unauthenticated,
          reason: 'IDENTITY.BAD_CREDENTIALS',
        });
      expect(await failure(login('customer8@legacy.example', 'legacy-8', guesser))).toEqual({
        code: Code.ResourceExhausted,
        reason: 'IDENTITY.LOGIN_THROTTLED',
      });
      // Neither the wrong passwords nor the held-back right one replaced the monolith's hash.
      expect((await account(8))?.password_hash).toBe(seededHash(8));

      expect((await login('customer8@legacy.example', 'legacy-8')).tokens?.accessToken).toBeTruthy();
      expect((await account(8))?.password_hash).toMatch(/^scrypt\$/);
    });

    it('drops an older change that arrives after a newer one', async () => {
      const older = captured(9, nextLsn(), { name: 'Older' });
      const newer = captured(9, nextLsn(), { name: 'Newer', email: 'new9@legacy.example' });
      await deliver(newer, older);
      expect(await account(9)).toMatchObject({ email: 'new9@legacy.example', name: 'Newer' });

      // A replay of an even older change (the snapshot, re-published) changes nothing either.
      await deliver(snapshot(9, { name: 'Snapshot' }));
      expect(await account(9)).toMatchObject({ email: 'new9@legacy.example', name: 'Newer' });
      expect((await login('new9@legacy.example', 'legacy-9')).tokens?.accessToken).toBeTruthy();
      expect(await failure(login('customer9@legacy.example', 'legacy-9'))).toMatchObject({
        reason: 'IDENTITY.BAD_CREDENTIALS',
      });
    });

    it("keeps identity's scrypt hash through the monolith's later updates", async () => {
      await deliver(snapshot(10));
      await login('customer10@legacy.example', 'legacy-10');
      const rehashed = (await account(10))?.password_hash;
      expect(rehashed).toMatch(/^scrypt\$/);

      // The monolith renames the customer, moves its email, and even sets another password there.
      await deliver(
        captured(10, nextLsn(), {
          name: 'Renamed',
          email: 'renamed10@legacy.example',
          passwordHash: seededHash(10, 'changed-in-the-monolith'),
        }),
      );
      expect(await account(10)).toEqual({
        email: 'renamed10@legacy.example',
        name: 'Renamed',
        password_hash: rehashed,
        blocked_at: null,
      });
      const { tokens } = await login('renamed10@legacy.example', 'legacy-10');
      expect(decodeJwt(tokens?.accessToken ?? '')).toMatchObject({ sub: 'usr_legacy_10', name: 'Renamed' });
      expect(await failure(login('renamed10@legacy.example', 'changed-in-the-monolith'))).toMatchObject({
        reason: 'IDENTITY.BAD_CREDENTIALS',
      });
    });

    it('handles a change delivered twice once, and a copy of it after a login changes nothing', async () => {
      const change = captured(11, nextLsn(), { name: 'Once' });
      await deliver(change, change);
      expect(await account(11)).toMatchObject({ name: 'Once', password_hash: seededHash(11) });
      await login('customer11@legacy.example', 'legacy-11');
      const rehashed = (await account(11))?.password_hash;
      expect(rehashed).toMatch(/^scrypt\$/);

      // The same change again: under its own id (the bus and the inbox drop it), and copied under
      // another id (captured anew), which the inbox cannot recognise but the account's position does.
      const copy = { ...change, event_id: change.event_id.replace(/:0$/, ':9') };
      await deliver(change, copy);
      const { rows } = await db().query<{ n: number }>(
        "SELECT count(*)::int AS n FROM mercato_inbox WHERE group_name = 'identity-legacy' AND message_id = $1",
        [change.event_id],
      );
      expect(rows[0]?.n).toBe(1);
      expect(await account(11)).toEqual({
        email: 'customer11@legacy.example',
        name: 'Once',
        password_hash: rehashed,
        blocked_at: null,
      });
      expect((await login('customer11@legacy.example', 'legacy-11')).tokens?.accessToken).toBeTruthy();
    });

    it("records and skips a customer whose email an account of identity's own holds", async () => {
      const own = await client().register({
        email: 'taken12@legacy.example',
        password: 'my own passphrase',
        name: 'Someone else',
      });
      const change = captured(12, nextLsn(), { email: 'taken12@legacy.example' });
      await deliver(change);
      expect(await account(12)).toBeUndefined();
      const { rows } = await db().query(
        'SELECT conflict, email, other_user_id, source_lsn::text AS lsn FROM legacy_account_conflicts WHERE user_id = $1',
        ['usr_legacy_12'],
      );
      expect(rows).toEqual([
        {
          conflict: 'email_taken',
          email: 'taken12@legacy.example',
          other_user_id: own.userId,
          lsn: (change.data.source as { lsn: string }).lsn,
        },
      ]);
      // Neither account is merged into the other: each password opens only its own.
      expect(await failure(login('taken12@legacy.example', 'legacy-12'))).toMatchObject({
        reason: 'IDENTITY.BAD_CREDENTIALS',
      });
      const { tokens } = await login('taken12@legacy.example', 'my own passphrase');
      expect(decodeJwt(tokens?.accessToken ?? '').sub).toBe(own.userId);

      // Once the monolith's row has an email of its own, the account is taken over.
      await deliver(captured(12, nextLsn(), { email: 'customer12@legacy.example' }));
      expect(await account(12)).toMatchObject({ email: 'customer12@legacy.example' });
    });

    it('blocks the account of a customer the monolith deletes, ending its sessions', async () => {
      await deliver(snapshot(13));
      const { tokens } = await login('customer13@legacy.example', 'legacy-13');
      await deliver(captured(13, nextLsn(), null));
      expect((await account(13))?.blocked_at).toBeInstanceOf(Date);
      expect(await failure(login('customer13@legacy.example', 'legacy-13'))).toEqual({
        code: Code.PermissionDenied,
        reason: 'IDENTITY.USER_BLOCKED',
      });
      expect(await failure(client().refresh({ refreshToken: tokens?.refreshToken ?? '' }))).toMatchObject({
        reason: 'IDENTITY.INVALID_REFRESH_TOKEN',
      });
    });

    it('follows two customers swapping emails in one monolith transaction', async () => {
      await deliver(snapshot(14), snapshot(15));
      const lsn = nextLsn();
      await deliver(
        captured(14, lsn, { email: 'customer15@legacy.example' }, { index: 0 }),
        captured(15, lsn, { email: 'customer14@legacy.example' }, { index: 1 }),
      );
      expect((await account(14))?.email).toBe('customer15@legacy.example');
      expect((await account(15))?.email).toBe('customer14@legacy.example');
      const { tokens } = await login('customer15@legacy.example', 'legacy-14');
      expect(decodeJwt(tokens?.accessToken ?? '').sub).toBe('usr_legacy_14');
    });

    it('announces no user.registered for the accounts it took over, and dead-letters nothing', async () => {
      const { rows: outbox } = await db().query<{ n: number }>(
        "SELECT count(*)::int AS n FROM mercato_outbox WHERE partition_key LIKE 'usr\\_legacy\\_%'",
      );
      const { rows: published } = await messageStore.messages.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM bus_messages WHERE destination = 'user.registered' AND partition_key LIKE 'usr\\_legacy\\_%'",
      );
      const { rows: dead } = await db().query<{ n: number }>(
        'SELECT count(*)::int AS n FROM mercato_dead_letters',
      );
      expect([outbox[0]?.n, published[0]?.n, dead[0]?.n]).toEqual([0, 0, 0]);
    });
  },
);
