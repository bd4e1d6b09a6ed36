import { notFound } from '@mercato/chassis';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Mailbox } from './mailbox.ts';

const tags = ['mailbox'];

/** What the sink received, for people and tests. Under /admin: mails carry customers' addresses. */
export const sinkRoutes =
  (mailbox: Mailbox): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/admin/mails',
      {
        schema: {
          tags,
          summary: 'Mails received, newest first (filter by recipient or Message-ID)',
          querystring: z.object({
            to: z.string().min(3).max(320).optional(),
            message_id: z.string().min(1).max(998).optional(),
            after_id: z.coerce.number().int().min(0).optional(),
            limit: z.coerce.number().int().min(1).max(10_000).default(100),
          }),
        },
      },
      async (request) => {
        const { to, message_id, after_id, limit } = request.query;
        return {
          mails: await mailbox.list({
            limit,
            ...(to ? { to } : {}),
            ...(message_id ? { messageId: message_id } : {}),
            ...(after_id ? { afterId: after_id } : {}),
          }),
        };
      },
    );

    app.get(
      '/admin/mails/:id',
      { schema: { tags, summary: 'One mail', params: z.object({ id: z.coerce.number().int().positive() }) } },
      async (request) => {
        const mail = await mailbox.find(request.params.id);
        if (!mail) throw notFound('MAIL.NOT_FOUND', `No mail ${request.params.id}`);
        return mail;
      },
    );
  };
