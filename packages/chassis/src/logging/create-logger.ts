import { trace } from '@opentelemetry/api';
import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino';
import { currentRequestContext } from './request-context.ts';
import { StdoutDestination } from './stdout-destination.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  service: string;
  level: string;
  /** Human-readable output; the default is JSON lines unless stdout is a terminal. */
  pretty?: boolean;
  destination?: DestinationStream;
}

/** The fields every line carries, taken from the active span and request context at write time. */
const correlationFields = () => {
  const span = trace.getActiveSpan()?.spanContext();
  const context = currentRequestContext();
  return {
    trace_id: span?.traceId ?? null,
    span_id: span?.spanId ?? null,
    correlation_id: context?.correlationId ?? null,
    ...(context?.userId ? { user_id: context.userId } : {}),
  };
};

export function loggerOptions(settings: Pick<LoggerSettings, 'service' | 'level'>): LoggerOptions {
  return {
    level: settings.level,
    messageKey: 'message',
    errorKey: 'error',
    base: { service: settings.service },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    mixin: correlationFields,
  };
}

/** pino with the platform's line shape: timestamp, level, service, trace_id, span_id, correlation_id, message. */
export function createLogger(settings: LoggerSettings): Logger {
  const options = loggerOptions(settings);
  if (settings.destination) return pino(options, settings.destination);
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  if (pretty) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { messageKey: 'message', translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  return pino(options, new StdoutDestination({ service: settings.service }));
}
