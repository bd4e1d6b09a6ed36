import pg from 'pg';
import type { Logger } from '../logging/create-logger.ts';

export interface PgChannelListener {
  close: () => Promise<void>;
}

/**
 * LISTENs on a channel (and any `alsoChannels`) on a dedicated connection (a pooled one would lose
 * the LISTEN when returned) and reconnects with a capped backoff when the server goes away.
 * `onReconnect` runs after a reconnect so callers can re-read what they may have missed meanwhile.
 */
export function listenToChannel(options: {
  url: string;
  channel: string;
  logger: Logger;
  onNotify: (payload: string) => void;
  /** More channels LISTENed on the same connection, each with its own handler. */
  alsoChannels?: Readonly<Record<string, (payload: string) => void>>;
  onReconnect?: () => void;
  /** After every LISTEN that took, the first one included: from then on no notification is missed. */
  onListening?: () => void;
}): PgChannelListener {
  let closed = false;
  let client: pg.Client | undefined;
  let delay = 250;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (isReconnect: boolean): Promise<void> => {
    const next = new pg.Client({
      connectionString: options.url,
      application_name: `listen:${options.channel}`,
    });
    next.on('error', () => undefined);
    next.on('end', () => {
      if (closed || client !== next) return;
      client = undefined;
      options.logger.warn({ channel: options.channel }, 'LISTEN connection lost; reconnecting');
      schedule();
    });
    next.on('notification', (message) => {
      if (message.channel === options.channel) options.onNotify(message.payload ?? '');
      else options.alsoChannels?.[message.channel]?.(message.payload ?? '');
    });
    try {
      await next.connect();
      for (const channel of [options.channel, ...Object.keys(options.alsoChannels ?? {})])
        await next.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
      if (closed) {
        await next.end();
        return;
      }
      client = next;
      delay = 250;
      if (isReconnect) options.onReconnect?.();
      options.onListening?.();
    } catch (error) {
      await next.end().catch(() => undefined);
      options.logger.warn({ channel: options.channel, err: error }, 'LISTEN connection failed; retrying');
      schedule();
    }
  };
  const schedule = () => {
    if (closed) return;
    timer = setTimeout(() => void connect(true), delay);
    delay = Math.min(delay * 2, 10_000);
  };

  void connect(false);
  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}
