import { Code } from '@connectrpc/connect';
import { createLogger, createPool, type Pool } from '@mercato/chassis';
import {
  grpcFailure,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { demoUser } from '@mercato/demo-shop';
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityConfig } from '../src/config.ts';
import { identityDefinition } from '../src/identity.service.ts';

const postgres = await probePostgres();
const ADMIN_TOKEN = 'identity-test-admin-token-0123456789';
const logger = createLogger({ service: 'test', level: 'silent' });

describe.skipIf(!postgres.available)(suiteTitle('identity service', postgres), () => {
  let running: TestService<IdentityConfig>;
  let messages: Pool;
  const client = () => running.client(IdentityService);
  const jwks = async () =>
    (await (await fetch(`${running.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const verify = async (token: string) =>
    jwtVerify(token, createLocalJWKSet(await jwks()), {
      algorithms: ['EdDSA'],
      issuer: 'mercato-identity',
      audience: 'mercato',
    });

  beforeAll(async () => {
    running = await startTestService(identityDefinition, {
      MERCATO_ADMIN_TOKEN: ADMIN_TOKEN,
      IDENTITY_SCRYPT_COST: '1024',
      IDENTITY_LOGIN_FREE_FAILURES_PER_CLIENT: '3',
      IDENTITY_LOGIN_FREE_FAILURES_PER_EMAIL: '10',
      IDENTITY_LOGIN_FREE_FAILURES_PER_IP: '20',
      // Long enough that no hold runs out while a test looks at it.
      IDENTITY_LOGIN_FIRST_DELAY_MS: '60000',
      IDENTITY_KEY_ROTATION_SECONDS: '2',
    });
    messages = createPool({ url: running.messagesUrl, max: 1, applicationName: 'test' }, logger);
  });
  afterAll(async () => {
    await messages?.end();
    await running?.stop();
  });

  it('registers a user, announces user.registered and refuses the same email twice', async () => {
    const user = await client().register({
      email: 'Ada@Example.test',
      password: 'a long passphrase',
      name: 'Ada',
    });
    expect(user).toMatchObject({ email: 'ada@example.test', name: 'Ada' });
    await waitFor('user.registered on the bus', async () => {
      const { rows } = await messages.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM bus_messages WHERE destination = 'user.registered' AND partition_key = $1",
        [user.userId],
      );
      return rows[0]?.n === 1;
    });
    const again = await grpcFailure(
      client().register({ email: 'ada@example.test', password: 'another passphrase', name: 'A' }),
    );
    expect(again?.metadata.get('mercato-error-code')).toBe('IDENTITY.EMAIL_TAKEN');
  });

  it('names each invalid field', async () => {
    const invalid = await grpcFailure(
      client().register({ email: 'not-an-email', password: 'short', name: '' }),
    );
    expect(invalid?.code).toBe(Code.InvalidArgument);
    expect(invalid?.rawMessage).toMatch(/email: .*password: .*name: /);
  });

  it('logs in with an EdDSA access token that verifies against the JWKS', async () => {
    const { tokens } = await client().login({ email: demoUser.email, password: demoUser.password });
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const { payload, protectedHeader } = await verify(tokens?.accessToken ?? '');
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ email: demoUser.email, roles: ['customer'] });
    expect(payload.sub).toMatch(/^usr_/);
  });

  it('holds a client back after its free failures, even with the right password', async () => {
    await client().register({ email: 'bob@example.test', password: 'bobs passphrase', name: 'Bob' });
    for (let i = 0; i < 3; i += 1) {
      const wrong = await grpcFailure(
        client().login({ email: 'bob@example.test', password: 'wrong guess!' }),
      );
      expect(wrong?.code).toBe(Code.Unauthenticated);
    }
    const blocked = await grpcFailure(
      client().login({ email: 'bob@example.test', password: 'bobs passphrase' }),
    );
    expect(blocked?.code).toBe(Code.ResourceExhausted);
    expect(blocked?.metadata.get('mercato-error-code')).toBe('IDENTITY.LOGIN_THROTTLED');
  });

  const throttled = async (login: Promise<unknown>) => {
    const failure = await grpcFailure(login);
    return (failure?.code === Code.ResourceExhausted && failure.metadata.get('mercato-error-code')) || false;
  };
  const register = (email: string) =>
    client().register({ email, password: 'the right passphrase', name: email.split('@')[0] ?? 'x' });

  it("does not let an attacker's failures stop the owner's correct password from another address", async () => {
    await register('erin@example.test');
    const attacker = { email: 'erin@example.test', clientIp: '203.0.113.66' };
    const answers: Array<string | false> = [];
    for (let i = 0; i < 12; i += 1)
      answers.push(await throttled(client().login({ ...attacker, password: `guess number ${i}` })));
    // Three free guesses, then held back: the attacker's address waits, however it guesses.
    expect(answers.slice(0, 3)).toEqual([false, false, false]);
    expect(answers.slice(3)).toEqual(Array(9).fill('IDENTITY.LOGIN_THROTTLED'));
    expect(await throttled(client().login({ ...attacker, password: 'the right passphrase' }))).toBe(
      'IDENTITY.LOGIN_THROTTLED',
    );
    // The owner, elsewhere, is not: 12 failures against the account held back only their author.
    const owner = await client().login({
      email: 'erin@example.test',
      password: 'the right passphrase',
      clientIp: '198.51.100.7',
    });
    expect(owner.tokens?.accessToken).toBeTruthy();
  });

  it('lets a correct password through from an address held back for spraying other accounts', async () => {
    await register('frank@example.test');
    await register('grace@example.test');
    const office = '192.0.2.44';
    for (let i = 0; i < 25; i += 1) {
      const failure = await grpcFailure(
        client().login({ email: `sprayed-${i}@example.test`, password: 'Winter2026!', clientIp: office }),
      );
      expect(failure?.code).toBe(Code.Unauthenticated);
    }
    // Frank failed once from the office too (the sprayer tried him): now he waits while it is held.
    expect(
      (
        await grpcFailure(
          client().login({ email: 'frank@example.test', password: 'Winter2026!', clientIp: office }),
        )
      )?.code,
    ).toBe(Code.Unauthenticated);
    expect(
      await throttled(
        client().login({ email: 'frank@example.test', password: 'the right passphrase', clientIp: office }),
      ),
    ).toBe('IDENTITY.LOGIN_THROTTLED');
    // Grace, behind the same address, never failed: her correct password gets her in.
    const grace = await client().login({
      email: 'grace@example.test',
      password: 'the right passphrase',
      clientIp: office,
    });
    expect(grace.tokens?.accessToken).toBeTruthy();
  });

  it('holds back the clients guessing one account from many addresses, not its owner', async () => {
    await register('heidi@example.test');
    for (let i = 0; i < 12; i += 1)
      await grpcFailure(
        client().login({ email: 'heidi@example.test', password: 'nope nope', clientIp: `198.18.0.${i}` }),
      );
    // An address that guessed once now waits for the account, even with the right password…
    expect(
      await throttled(
        client().login({
          email: 'heidi@example.test',
          password: 'the right passphrase',
          clientIp: '198.18.0.3',
        }),
      ),
    ).toBe('IDENTITY.LOGIN_THROTTLED');
    // …and the owner at home does not.
    const owner = await client().login({
      email: 'heidi@example.test',
      password: 'the right passphrase',
      clientIp: '198.51.100.99',
    });
    expect(owner.tokens?.accessToken).toBeTruthy();
  });

  it('blocks a user: watchers are told at once, login and refresh are refused, unblocking lets it back', async () => {
    const ivan = await register('ivan@example.test');
    const before = (await client().login({ email: 'ivan@example.test', password: 'the right passphrase' }))
      .tokens;
    const controller = new AbortController();
    const watched: Array<Array<{ userId: string; blockedAt: string }>> = [];
    const watching = (async () => {
      for await (const { users } of client().watchBlockedUsers({}, { signal: controller.signal }))
        watched.push(users.map(({ userId, blockedAt }) => ({ userId, blockedAt })));
    })().catch(() => undefined);
    await waitFor('the recent blocks first', async () => watched.length === 1);
    expect(watched[0]?.map((user) => user.userId)).not.toContain(ivan.userId);

    const admin = (method: string, id: string, token = ADMIN_TOKEN) =>
      fetch(`${running.url}/admin/users/${id}/block`, {
        method,
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await admin('PUT', ivan.userId, 'not-the-admin-token-at-all-000000')).status).toBe(401);
    expect((await admin('PUT', 'usr_nobody')).status).toBe(404);
    const blocked = await admin('PUT', ivan.userId);
    expect(blocked.status).toBe(200);
    const { blocked_at } = (await blocked.json()) as { blocked_at: string };
    await waitFor('the block pushed to the watcher', async () => watched.length === 2);
    expect(watched[1]).toEqual([{ userId: ivan.userId, blockedAt: blocked_at }]);

    // The right password says blocked; a wrong one says no more than it ever did.
    const refused = await grpcFailure(
      client().login({ email: 'ivan@example.test', password: 'the right passphrase' }),
    );
    expect(refused?.code).toBe(Code.PermissionDenied);
    expect(refused?.metadata.get('mercato-error-code')).toBe('IDENTITY.USER_BLOCKED');
    const wrong = await grpcFailure(
      client().login({ email: 'ivan@example.test', password: 'a wrong passphrase' }),
    );
    expect(wrong?.metadata.get('mercato-error-code')).toBe('IDENTITY.BAD_CREDENTIALS');
    const refresh = await grpcFailure(client().refresh({ refreshToken: before?.refreshToken ?? '' }));
    expect(refresh?.metadata.get('mercato-error-code')).toBe('IDENTITY.INVALID_REFRESH_TOKEN');

    // A watcher that comes later hears of it first thing.
    const [late] = await (async () => {
      const first: Array<Array<string>> = [];
      for await (const { users } of client().watchBlockedUsers({})) {
        first.push(users.map((user) => user.userId));
        break;
      }
      return first;
    })();
    expect(late).toContain(ivan.userId);

    expect((await admin('DELETE', ivan.userId)).status).toBe(204);
    const after = await client().login({ email: 'ivan@example.test', password: 'the right passphrase' });
    expect(after.tokens?.accessToken).toBeTruthy();
    controller.abort();
    await watching;
  });

  it('rotates refresh tokens and revokes the family when a spent one is replayed', async () => {
    const first = (await client().login({ email: demoUser.email, password: demoUser.password })).tokens;
    const second = (await client().refresh({ refreshToken: first?.refreshToken ?? '' })).tokens;
    expect(second?.refreshToken).not.toBe(first?.refreshToken);

    const replay = await grpcFailure(client().refresh({ refreshToken: first?.refreshToken ?? '' }));
    expect(replay?.metadata.get('mercato-error-code')).toBe('IDENTITY.REFRESH_TOKEN_REUSED');
    const afterTheft = await grpcFailure(client().refresh({ refreshToken: second?.refreshToken ?? '' }));
    expect(afterTheft?.metadata.get('mercato-error-code')).toBe('IDENTITY.INVALID_REFRESH_TOKEN');
  });

  it('rotates signing keys and keeps publishing the previous one', async () => {
    const before =
      (await client().login({ email: demoUser.email, password: demoUser.password })).tokens?.accessToken ??
      '';
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const after =
      (await client().login({ email: demoUser.email, password: demoUser.password })).tokens?.accessToken ??
      '';
    expect(decodeProtectedHeader(after).kid).not.toBe(decodeProtectedHeader(before).kid);
    const kids = (await jwks()).keys.map((key) => key.kid);
    expect(kids).toEqual(
      expect.arrayContaining([decodeProtectedHeader(before).kid, decodeProtectedHeader(after).kid]),
    );
    await expect(verify(before)).resolves.toBeDefined();
    await expect(verify(after)).resolves.toBeDefined();
    const grpcKeys = (await client().getJwks({})).keys.map((key) => key.kid);
    expect(grpcKeys).toEqual(kids);
  });
});
