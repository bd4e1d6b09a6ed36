import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import { notFound } from '../errors/app-error.ts';
import type { DeadLetter, DeadLetterStore } from './dead-letter-store.ts';
import type { MessageConsumer } from './message-consumer.ts';

const deadLetterJson = (letter: DeadLetter) => ({
  id: letter.id,
  group: letter.group,
  message_id: letter.messageId,
  destination: letter.destination,
  key: letter.key,
  error: letter.error,
  attempts: letter.attempts,
  dead_at: letter.deadAt.toISOString(),
  replayed_at: letter.replayedAt?.toISOString() ?? null,
  envelope: letter.envelope,
});

/**
 * Operator endpoints for a service's dead letters: list, inspect, replay through the group's handler.
 * Served on the service's own port (not routed by the gateway); `mercato dead-letters` calls them.
 */
export const deadLetterRoutes =
  (store: DeadLetterStore, consumers: readonly MessageConsumer[]): FastifyPluginAsyncZod =>
  async (app) => {
    const id = z.object({ id: z.coerce.number().int().positive() });
    const letterOr404 = async (letterId: number): Promise<DeadLetter> => {
      const letter = await store.get(letterId);
      if (!letter) throw notFound('MESSAGING.DEAD_LETTER_NOT_FOUND', `No dead letter ${letterId}`);
      return letter;
    };

    app.get(
      '/admin/dead-letters',
      {
        schema: {
          tags: ['operations'],
          querystring: z.object({
            group: z.string().max(100).optional(),
            all: z.enum(['true', 'false']).default('false'),
          }),
        },
      },
      async ({ query }) => ({
        items: (await store.list({ group: query.group, includeReplayed: query.all === 'true' })).map(
          deadLetterJson,
        ),
      }),
    );

    app.get('/admin/dead-letters/:id', { schema: { tags: ['operations'], params: id } }, async ({ params }) =>
      deadLetterJson(await letterOr404(params.id)),
    );

    app.post(
      '/admin/dead-letters/:id/replay',
      { schema: { tags: ['operations'], params: id } },
      async ({ params }) => {
        const letter = await letterOr404(params.id);
        const consumer = consumers.find((candidate) => candidate.definition.group === letter.group);
        if (!consumer)
          throw notFound('MESSAGING.GROUP_NOT_FOUND', `This service has no consumer group ${letter.group}`);
        return { id: params.id, outcome: await consumer.replay(params.id) };
      },
    );
  };
