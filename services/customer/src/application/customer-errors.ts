import { conflict, notFound } from '@mercato/chassis';

export const customerErrors = {
  notFound: (id: string) => notFound('CUSTOMER.NOT_FOUND', `Customer ${id} does not exist`),
  keptByMonolith: (id: string, legacyKey: string) =>
    conflict(
      'CUSTOMER.KEPT_BY_MONOLITH',
      `Customer ${id} is still kept by the monolith: change the name there (PATCH /legacy/api/customers/${legacyKey}) until customers move to the services`,
      { customer_id: id },
    ),
};
