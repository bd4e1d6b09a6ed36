import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@mercato/chassis';
import { type SinkConfig, sinkConfig } from './config.ts';
import { Mailbox } from './mailbox.ts';
import { listenForMail } from './smtp-listener.ts';
import { sinkRoutes } from './smtp-sink.routes.ts';

/**
 * A local SMTP server that keeps every mail (not a Mercato service: the outside world notification
 * sends to), run by the supervisor in embedded mode so mails can be read without a mail provider.
 */
export const sinkDefinition: ServiceDefinition<SinkConfig, { database: true }> = {
  name: 'smtp-sink',
  config: sinkConfig,
  migrations: fileURLToPath(new URL('../migrations', import.meta.url)),
  docs: { title: 'SMTP sink', description: 'Mails received over SMTP, for local runs' },
  async setup({ config, db, logger }) {
    const mailbox = new Mailbox(db);
    const smtp = await listenForMail({
      mailbox,
      logger,
      host: config.SMTP_HOST,
      port: config.SMTP_PORT,
      maxBytes: config.SMTP_SINK_MAX_BYTES,
    });
    return { routes: sinkRoutes(mailbox), onClose: () => smtp.close() };
  },
};
