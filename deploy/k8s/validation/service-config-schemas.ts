import type * as z from 'zod';
import { gatewayConfig } from '../../../apps/gateway/src/config.ts';
import { analyticsConfig } from '../../../services/analytics/src/config.ts';
import { catalogConfig } from '../../../services/catalog/src/config.ts';
import { customerConfig } from '../../../services/customer/src/config.ts';
import { fulfillmentConfig } from '../../../services/fulfillment/src/config.ts';
import { identityConfig } from '../../../services/identity/src/config.ts';
import { inventoryConfig } from '../../../services/inventory/src/config.ts';
import { notificationConfig } from '../../../services/notification/src/config.ts';
import { orderConfig } from '../../../services/order/src/config.ts';
import { orderViewConfig } from '../../../services/order-view/src/config.ts';
import { paymentConfig } from '../../../services/payment/src/config.ts';
import { pricingConfig } from '../../../services/pricing/src/config.ts';

/** A service's own configuration schema (its config.ts), and the variables it names. */
export interface ServiceConfigSchema {
  schema: z.ZodType<Record<string, unknown>>;
  /** zod objects drop keys they do not name, so a misspelt variable is caught by this list instead. */
  variables: ReadonlySet<string>;
}

const entry = (schema: z.ZodObject): ServiceConfigSchema => ({
  schema: schema as unknown as z.ZodType<Record<string, unknown>>,
  variables: new Set(Object.keys(schema.shape)),
});

/** Each deployed service's schema, by its name (the workload's app.kubernetes.io/name). */
export const serviceConfigSchemas: ReadonlyMap<string, ServiceConfigSchema> = new Map([
  ['gateway', entry(gatewayConfig)],
  ['catalog', entry(catalogConfig)],
  ['identity', entry(identityConfig)],
  ['customer', entry(customerConfig)],
  ['pricing', entry(pricingConfig)],
  ['inventory', entry(inventoryConfig)],
  ['payment', entry(paymentConfig)],
  ['order', entry(orderConfig)],
  ['fulfillment', entry(fulfillmentConfig)],
  ['notification', entry(notificationConfig)],
  ['order-view', entry(orderViewConfig)],
  ['analytics', entry(analyticsConfig)],
]);

/**
 * Variables a service reads outside its config schema, and the file that reads each (the test checks
 * that file still does): the tracing preload names the service's spans before the config is parsed.
 */
export const variablesReadOutsideSchemas: ReadonlyMap<string, string> = new Map([
  ['OTEL_SERVICE_NAME', 'packages/chassis/src/telemetry/preload.ts'],
  ['MERCATO_SERVICE', 'packages/chassis/src/telemetry/preload.ts'],
]);
