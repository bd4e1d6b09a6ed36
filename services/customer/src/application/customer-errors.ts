import { AppError, conflict, notFound } from '@mercato/chassis';

export const customerErrors = {
  notFound: (id: string) => notFound('CUSTOMER.NOT_FOUND', `Customer ${id} does not exist`),
  keptByMonolith: (id: string, legacyKey: string) =>
    conflict(
      'CUSTOMER.KEPT_BY_MONOLITH',
      `Customer ${id} is still kept by the monolith: change the name there (PATCH /legacy/api/customers/${legacyKey}) until customers move to the services`,
      { customer_id: id },
    ),
  moveInProgress: (id: string) =>
    new AppError({
      code: 'CUSTOMER.MOVE_IN_PROGRESS',
      kind: 'conflict',
      retryable: true,
      retryAfterSeconds: 1,
      message: `Customers are moving from the monolith to the services: ${id} takes writes again once the last changes the monolith made are applied (within a second or so)`,
      details: { customer_id: id },
    }),
  monolithRetired: () =>
    conflict(
      'CUSTOMER.MONOLITH_RETIRED',
      'The monolith is retiring or retired: the services keep its customers for good',
    ),
  customersNotMoved: (owner: string) =>
    conflict(
      'CUSTOMER.NOT_MOVED',
      `The services do not write the monolith's customers for good (customer says ${owner}): the monolith cannot retire yet`,
      { owner },
    ),
};
