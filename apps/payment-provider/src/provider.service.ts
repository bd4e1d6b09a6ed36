import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@mercato/chassis';
import { type ProviderConfig, providerConfig } from './config.ts';
import { KnobPanel } from './knobs.ts';
import { providerRoutes } from './provider.routes.ts';
import { ProviderLedger } from './provider-ledger.ts';

/**
 * The payment-provider simulator: not a Mercato service but the outside world payment talks to,
 * run by the supervisor in embedded mode so the shop works offline.
 */
export const providerDefinition: ServiceDefinition<ProviderConfig, { database: true }> = {
  name: 'payment-provider',
  config: providerConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'Payment provider (simulator)', description: 'A Stripe-like API for local runs' },
  setup({ config, db }) {
    const knobs = new KnobPanel({
      decline_rate: config.PROVIDER_DECLINE_RATE,
      refund_failure_rate: config.PROVIDER_REFUND_FAILURE_RATE,
      latency_ms: config.PROVIDER_LATENCY_MS,
      outage: config.PROVIDER_OUTAGE,
    });
    return { routes: providerRoutes(new ProviderLedger(db), knobs) };
  },
};
