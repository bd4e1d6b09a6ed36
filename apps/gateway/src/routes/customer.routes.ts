import type { Customer } from '@mercato/contracts/grpc/customer';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { Identification } from '../auth/identification.ts';
import type { Upstreams } from '../upstreams/upstreams.ts';
import { problems } from './edge-schemas.ts';

const preferences = z.object({ marketing_emails: z.boolean(), language: z.string(), currency: z.string() });
export const customer = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  segment: z.string(),
  preferences,
  created_at: z.string(),
  updated_at: z.string(),
});

export const toCustomerJson = (c: Customer | undefined) => ({
  id: c?.id ?? '',
  email: c?.email ?? '',
  name: c?.name ?? '',
  segment: c?.segment ?? '',
  preferences: {
    marketing_emails: c?.preferences?.marketingEmails ?? false,
    language: c?.preferences?.language ?? '',
    currency: c?.preferences?.currency ?? '',
  },
  created_at: c?.createdAt ?? '',
  updated_at: c?.updatedAt ?? '',
});

/** The signed-in customer's own profile: the id always comes from the verified token. */
export const customerEdgeRoutes =
  (upstreams: Upstreams, identification: Identification): FastifyPluginAsyncZod =>
  async (app) => {
    const security = [{ bearer: [] }];

    app.get(
      '/api/customers/me',
      {
        schema: {
          tags: ['customers'],
          summary: 'My profile',
          security,
          response: { 200: customer, ...problems },
        },
      },
      async (request) => {
        const { userId } = await identification.requirePrincipal(request);
        const customers = upstreams.for(request).customer;
        return toCustomerJson((await customers.client.getCustomer({ id: userId })).customer);
      },
    );

    app.get(
      '/api/customers/me/notifications',
      {
        schema: {
          tags: ['customers'],
          summary: 'Mails sent to me about my orders, newest first',
          security,
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
          response: {
            200: z.object({
              notifications: z.array(
                z.object({
                  message_id: z.string(),
                  kind: z.string(),
                  order_id: z.string().nullable(),
                  recipient: z.string(),
                  subject: z.string(),
                  sent_at: z.string(),
                  sends: z.number(),
                }),
              ),
            }),
            ...problems,
          },
        },
      },
      async (request) => {
        const { userId } = await identification.requirePrincipal(request);
        const { notifications } = await upstreams
          .for(request)
          .notification.client.listNotifications({ customerId: userId, limit: request.query.limit });
        return {
          notifications: notifications.map((sent) => ({
            message_id: sent.messageId,
            kind: sent.kind,
            order_id: sent.orderId || null,
            recipient: sent.recipient,
            subject: sent.subject,
            sent_at: sent.sentAt,
            sends: sent.sends,
          })),
        };
      },
    );

    app.patch(
      '/api/customers/me',
      {
        schema: {
          tags: ['customers'],
          summary:
            'Change my name (409 CUSTOMER.KEPT_BY_MONOLITH for a customer of the monolith: its name changes there until customers move)',
          security,
          body: z.object({ name: z.string().trim().min(1).max(200) }),
          response: { 200: customer, ...problems },
        },
      },
      async (request) => {
        const { userId } = await identification.requirePrincipal(request);
        const customers = upstreams.for(request).customer;
        return toCustomerJson(
          (await customers.client.updateProfile({ id: userId, name: request.body.name })).customer,
        );
      },
    );

    app.put(
      '/api/customers/me/preferences',
      {
        schema: {
          tags: ['customers'],
          summary: 'Replace my preferences',
          security,
          body: z.object({
            marketing_emails: z.boolean(),
            language: z.string().max(16),
            currency: z.string().max(3),
          }),
          response: { 200: customer, ...problems },
        },
      },
      async (request) => {
        const { userId } = await identification.requirePrincipal(request);
        const customers = upstreams.for(request).customer;
        const { marketing_emails, language, currency } = request.body;
        const updated = await customers.client.updatePreferences({
          id: userId,
          preferences: { marketingEmails: marketing_emails, language, currency },
        });
        return toCustomerJson(updated.customer);
      },
    );
  };
