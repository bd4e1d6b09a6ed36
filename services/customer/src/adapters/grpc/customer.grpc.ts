import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { mayActFor, parseRequest } from '@mercato/chassis';
import {
  type Customer as CustomerMessage,
  CustomerSchema,
  CustomerService,
} from '@mercato/contracts/grpc/customer';
import * as z from 'zod';
import { customerErrors } from '../../application/customer-errors.ts';
import type { CustomerService as Customers } from '../../application/customer-service.ts';
import type { Customer } from '../../domain/customer.ts';

const id = z.string().trim().min(1).max(64);
const getRequest = z.object({ id });
/** An empty name leaves it as it is (proto3 cannot tell it from an absent one); something must change. */
const profileRequest = z
  .object({ id, name: z.string().trim().max(200), address: z.string().max(500).optional() })
  .refine((input) => input.name !== '' || input.address !== undefined, {
    error: 'expected a name, an address or both',
    path: ['name'],
  });
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
    address: customer.address,
    createdAt: customer.createdAt.toISOString(),
    updatedAt: customer.updatedAt.toISOString(),
  });

/**
 * Under a call policy a profile is another customer's only with their token (or an admin's), or
 * for a caller the policy lets act for no user: anyone else finds no such customer (`mayActFor`).
 */
const ownProfile = (id: string) => {
  if (!mayActFor(id)) throw customerErrors.notFound(id);
};

export const customerGrpc = (customers: Customers) => (router: ConnectRouter) =>
  router.service(CustomerService, {
    async getCustomer(request) {
      const { id: customerId } = parseRequest(getRequest, request);
      ownProfile(customerId);
      return { customer: toMessage(await customers.get(customerId)) };
    },
    async updateProfile(request) {
      const input = parseRequest(profileRequest, request);
      ownProfile(input.id);
      const changes = { name: input.name === '' ? undefined : input.name, address: input.address };
      return { customer: toMessage(await customers.editProfile(input.id, changes)) };
    },
    async updatePreferences(request) {
      const input = parseRequest(preferencesRequest, request);
      ownProfile(input.id);
      return { customer: toMessage(await customers.setPreferences(input.id, input.preferences)) };
    },
  });
