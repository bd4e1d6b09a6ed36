import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { parseRequest } from '@mercato/chassis';
import {
  type Customer as CustomerMessage,
  CustomerSchema,
  CustomerService,
} from '@mercato/contracts/grpc/customer';
import { z } from 'zod';
import type { CustomerService as Customers } from '../../application/customer-service.ts';
import type { Customer } from '../../domain/customer.ts';

const id = z.string().trim().min(1).max(64);
const getRequest = z.object({ id });
const profileRequest = z.object({ id, name: z.string().trim().min(1).max(200) });
const preferencesRequest = z.object({
  id,
  preferences: z.object(
    {
      marketingEmails: z.boolean(),
      language: z
        .string()
        .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, { error: 'expected a language tag such as en-GB' }),
      currency: z.string().regex(/^[A-Z]{3}$/, { error: 'expected an ISO 4217 code such as EUR' }),
    },
    { error: 'required' },
  ),
});

const toMessage = (customer: Customer): CustomerMessage =>
  create(CustomerSchema, {
    id: customer.id,
    email: customer.email,
    name: customer.name,
    segment: customer.segment,
    preferences: customer.preferences,
    createdAt: customer.createdAt.toISOString(),
    updatedAt: customer.updatedAt.toISOString(),
  });

export const customerGrpc = (customers: Customers) => (router: ConnectRouter) =>
  router.service(CustomerService, {
    async getCustomer(request) {
      return { customer: toMessage(await customers.get(parseRequest(getRequest, request).id)) };
    },
    async updateProfile(request) {
      const input = parseRequest(profileRequest, request);
      return { customer: toMessage(await customers.rename(input.id, input.name)) };
    },
    async updatePreferences(request) {
      const input = parseRequest(preferencesRequest, request);
      return { customer: toMessage(await customers.setPreferences(input.id, input.preferences)) };
    },
  });
