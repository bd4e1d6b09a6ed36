import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import * as z from 'zod';
import type { LegacyCustomers } from './legacy-customers.ts';
import type { LegacyOrders } from './legacy-orders.ts';
import {
  address,
  customerName,
  customerSchema,
  email,
  idParams,
  loginEmail,
  orderSchema,
} from './legacy-schemas.ts';

const tags = ['customers'];

/** Registration, profiles, login, and a customer's order history. */
export const customerRoutes =
  (customers: LegacyCustomers, orders: LegacyOrders): FastifyPluginAsyncZod =>
  async (app) => {
    app.post(
      '/customers',
      {
        schema: {
          tags,
          summary: 'Register a customer (409 LEGACY.EMAIL_TAKEN when the email is in use)',
          body: z.object({
            email,
            name: customerName,
            password: z.string().min(8).max(200),
            address: address.default(''),
          }),
          response: { 201: customerSchema },
        },
      },
      async ({ body }, reply) => {
        const customer = await customers.register(body);
        return reply.code(201).header('location', `/api/customers/${customer.id}`).send(customer);
      },
    );

    app.get(
      '/customers/:id',
      { schema: { tags, summary: 'A customer', params: idParams, response: { 200: customerSchema } } },
      async ({ params }) => customers.find(params.id),
    );

    app.patch(
      '/customers/:id',
      {
        schema: {
          tags,
          summary: "Edit a customer's name, address or email",
          params: idParams,
          body: z
            .object({ name: customerName.optional(), address: address.optional(), email: email.optional() })
            .refine((changes) => Object.values(changes).some((value) => value !== undefined), {
              error: 'expected at least one of name, address, email',
            }),
          response: { 200: customerSchema },
        },
      },
      async ({ params, body }) => customers.update(params.id, body),
    );

    app.post(
      '/login',
      {
        schema: {
          tags,
          summary: 'Check an email and password (401 LEGACY.BAD_CREDENTIALS)',
          body: z.object({ email: loginEmail, password: z.string().max(200) }),
          response: { 200: z.object({ customerId: z.number() }) },
        },
      },
      async ({ body }) => ({
        customerId: await customers.authenticate(body.email, body.password),
      }),
    );

    app.get(
      '/customers/:id/orders',
      {
        schema: {
          tags,
          summary: "A customer's orders, newest first",
          params: idParams,
          querystring: z.object({ limit: z.coerce.number().int().min(1).max(100).default(20) }),
          response: { 200: z.object({ items: z.array(orderSchema) }) },
        },
      },
      async ({ params, query }) => ({ items: await orders.byCustomer(params.id, query.limit) }),
    );
  };
