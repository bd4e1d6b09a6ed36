import { prettyFactory } from 'pino-pretty';

export type LogStream = 'stdout' | 'stderr';

/**
 * Merges every process's output into one console. Services write JSON lines; on a terminal they are
 * pretty-printed with pino-pretty, elsewhere passed through unchanged so the merged stream stays
 * machine-readable. Plain-text lines (a crash trace, a start-up error) are wrapped as JSON lines.
 */
export class LogOutput {
  readonly #pretty: ((line: unknown) => string) | undefined;
  readonly #write: (text: string) => void;
  /** Also given every JSON line (the supervisor's searchable log store). */
  #sink: ((service: string, json: string) => void) | undefined;

  constructor(options: { pretty: boolean; write?: (text: string) => void }) {
    this.#write = options.write ?? ((text) => process.stdout.write(text));
    this.#pretty = options.pretty
      ? prettyFactory({
          messageKey: 'message',
          timestampKey: 'timestamp',
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'service,trace_id,span_id,correlation_id,request_id',
          messageFormat: '{service} │ {message}',
          colorize: true,
        })
      : undefined;
  }

  line(service: string, text: string, stream: LogStream = 'stdout'): void {
    if (text.trim() === '') return;
    const json = text.startsWith('{') ? text : this.#wrap(service, text, stream);
    this.#sink?.(service, json);
    this.#write(this.#pretty ? this.#pretty(json) : `${json}\n`);
  }

  keepLines(sink: (service: string, json: string) => void): void {
    this.#sink = sink;
  }

  /** Plain text for people (the status table), written as is. */
  text(text: string): void {
    this.#write(`${text}\n`);
  }

  #wrap(service: string, text: string, stream: LogStream): string {
    return JSON.stringify({
      level: stream === 'stderr' ? 'warn' : 'info',
      timestamp: new Date().toISOString(),
      service,
      trace_id: null,
      span_id: null,
      correlation_id: null,
      message: text,
      stream,
    });
  }
}
