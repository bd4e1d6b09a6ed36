import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { NotificationStore } from '../../application/notification-ports.ts';

/** Operators: every mail sent, newest first (admin token, as every /admin route). */
export const notificationAdminRoutes =
  (store: NotificationStore): FastifyPluginAsyncZod =>
  async (app) => {
    app.get(
      '/admin/notifications',
      {
        schema: {
          tags: ['operations'],
          summary: 'Mails sent, newest first, with how often each went out',
          querystring: z.object({
            customer_id: z.string().min(1).max(128).optional(),
            limit: z.coerce.number().int().min(1).max(10_000).default(100),
          }),
        },
      },
      async (request) => {
        const { customer_id, limit } = request.query;
        const sent = await store.list({ limit, ...(customer_id ? { customerId: customer_id } : {}) });
        return {
          notifications: sent.map((row) => ({
            message_id: row.messageId,
            event_id: row.eventId,
            kind: row.kind,
            customer_id: row.customerId,
            order_id: row.orderId,
            recipient: row.recipient,
            subject: row.subject,
            sends: row.sends,
            sent_at: row.sentAt.toISOString(),
          })),
        };
      },
    );
  };
