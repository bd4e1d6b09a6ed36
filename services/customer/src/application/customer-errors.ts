import { notFound } from '@mercato/chassis';

export const customerErrors = {
  notFound: (id: string) => notFound('CUSTOMER.NOT_FOUND', `Customer ${id} does not exist`),
};
