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
import { createEnvelope, userRegistered } from '@mercato/contracts';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { demoUser } from '@mercato/demo-shop';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerConfig } from '../src/config.ts';
import { customerDefinition } from '../src/customer.service.ts';

const postgres = await probePostgres();

describe.skipIf(!postgres.available)(suiteTitle('customer service', postgres), () => {
  let running: TestService<CustomerConfig>;
  let messageStore: TestBus;
  const client = () => running.client(CustomerService);

  beforeAll(async () => {
    running = await startTestService(customerDefinition);
    messageStore = connectTestBus(running.messagesUrl);
  });
  afterAll(async () => {
    await messageStore?.close();
    await running?.stop();
  });

  const exists = (id: string) =>
    client()
      .getCustomer({ id })
      .then(
        () => true,
        () => false,
      );

  const register = async (userId: string, email: string, name: string) => {
    const envelope = createEnvelope({
      contract: userRegistered,
      source: 'identity',
      correlationId: 'corr_test',
      data: { user_id: userId, email, name },
    });
    await messageStore.bus.publish([
      { kind: 'topic', destination: userRegistered.type, key: userId, envelope },
    ]);
    return envelope;
  };

  it('creates a profile from user.registered, once even when the event comes twice', async () => {
    const envelope = await register('usr_ada', 'ada@example.test', 'Ada');
    await messageStore.bus.publish([
      { kind: 'topic', destination: userRegistered.type, key: 'usr_ada', envelope },
    ]);
    await waitFor('the profile', () => exists('usr_ada'));
    const { customer } = await client().getCustomer({ id: 'usr_ada' });
    expect(customer).toMatchObject({ email: 'ada@example.test', name: 'Ada', segment: 'standard' });
    expect(customer?.preferences).toMatchObject({
      language: 'en-GB',
      currency: 'EUR',
      marketingEmails: false,
    });
  });

  it('makes the demo user a member', async () => {
    await register('usr_demo', demoUser.email, demoUser.name);
    await waitFor('the demo profile', () => exists('usr_demo'));
    const { customer } = await client().getCustomer({ id: 'usr_demo' });
    expect(customer?.segment).toBe('member');
  });

  it('updates profile and preferences and announces customer.updated', async () => {
    await register('usr_bob', 'bob@example.test', 'Bob');
    await waitFor('the profile', () =>
      client()
        .getCustomer({ id: 'usr_bob' })
        .then(
          () => true,
          () => false,
        ),
    );
    const renamed = await client().updateProfile({ id: 'usr_bob', name: 'Robert' });
    expect(renamed.customer?.name).toBe('Robert');
    const preferred = await client().updatePreferences({
      id: 'usr_bob',
      preferences: { marketingEmails: true, language: 'fr-FR', currency: 'EUR' },
    });
    expect(preferred.customer?.preferences?.language).toBe('fr-FR');
    await waitFor('customer.updated on the bus', async () => {
      const { rows } = await messageStore.messages.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM bus_messages WHERE destination = 'customer.updated' AND partition_key = 'usr_bob'",
      );
      return rows[0]?.n === 2;
    });
  });

  it('answers NOT_FOUND and INVALID_ARGUMENT with the field', async () => {
    expect((await grpcFailure(client().getCustomer({ id: 'usr_nobody' })))?.code).toBe(Code.NotFound);
    const invalid = await grpcFailure(
      client().updatePreferences({ id: 'usr_ada', preferences: { language: 'english', currency: 'eur' } }),
    );
    expect(invalid?.code).toBe(Code.InvalidArgument);
    expect(invalid?.rawMessage).toMatch(/preferences\.language.*preferences\.currency/);
    expect((await grpcFailure(client().updatePreferences({ id: 'usr_ada' })))?.rawMessage).toMatch(
      /preferences: required/,
    );
  });
});
