import { type GrpcClient, isAppError } from '@mercato/chassis';
import type { CustomerService } from '@mercato/contracts/grpc/customer';
import type { OrderService } from '@mercato/contracts/grpc/order';
import type {
  CustomerOrderFacts,
  Customers,
  OrderFactsSource,
} from '../../application/notification-ports.ts';

const unlessNotFound = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
  try {
    return await call();
  } catch (error) {
    if (isAppError(error) && error.kind === 'not_found') return undefined;
    throw error;
  }
};

/** customer's GetCustomer: where a mail goes and whom it greets. */
export class GrpcCustomers implements Customers {
  readonly #customer: GrpcClient<typeof CustomerService>;

  constructor(customer: GrpcClient<typeof CustomerService>) {
    this.#customer = customer;
  }

  async contactOf(customerId: string) {
    const answer = await unlessNotFound(() => this.#customer.client.getCustomer({ id: customerId }));
    const customer = answer?.customer;
    return customer?.email ? { email: customer.email, name: customer.name || customer.email } : undefined;
  }
}

/** order's GetOrder: the lines and total a mail lists. */
export class GrpcOrderFacts implements OrderFactsSource {
  readonly #order: GrpcClient<typeof OrderService>;

  constructor(order: GrpcClient<typeof OrderService>) {
    this.#order = order;
  }

  async factsOf(orderId: string): Promise<CustomerOrderFacts | undefined> {
    const answer = await unlessNotFound(() => this.#order.client.getOrder({ orderId, asOf: '' }));
    const order = answer?.order;
    if (!order) return undefined;
    return {
      orderId: order.orderId,
      customerId: order.customerId,
      lines: order.lines.map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        unitPriceMinor: Number(line.unitPriceMinor),
      })),
      totalMinor: Number(order.totalMinor),
      currency: order.currency,
    };
  }
}
