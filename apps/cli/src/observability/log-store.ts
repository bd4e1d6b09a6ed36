/** One line of a process's output as the supervisor keeps it. */
export interface LogEntry {
  seq: number;
  time_ms: number;
  level: string;
  service: string;
  message: string;
  trace_id: string | null;
  correlation_id: string | null;
  /** The whole line as the process wrote it (JSON). */
  line: string;
}

export interface LogQuery {
  service?: string | undefined;
  /** This level and the ones above it. */
  level?: string | undefined;
  /** Case-insensitive text anywhere in the line. */
  text?: string | undefined;
  correlationId?: string | undefined;
  traceId?: string | undefined;
  sinceMs?: number | undefined;
  untilMs?: number | undefined;
  limit: number;
}

const severity: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

const stringOr = (value: unknown): string | null =>
  typeof value === 'string' && value !== '' ? value : null;

/**
 * The merged log lines of every process, newest kept, bounded by their size (oldest dropped first),
 * searchable by service, level, text, correlation id, trace id and time. A ring in memory: lines
 * are only worth keeping while the platform runs, and its console is where they are read.
 */
export class LogStore {
  readonly #maxBytes: number;
  readonly #entries: LogEntry[] = [];
  #head = 0;
  #bytes = 0;
  #seq = 0;

  constructor(settings: { maxBytes: number }) {
    this.#maxBytes = settings.maxBytes;
  }

  /** A JSON line from a process (as LogOutput passes it on); lines that are not JSON are kept as text. */
  add(service: string, line: string): void {
    let fields: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === 'object') fields = parsed as Record<string, unknown>;
    } catch {
      fields = { message: line };
    }
    const time = Date.parse(String(fields.timestamp ?? ''));
    const entry: LogEntry = {
      seq: ++this.#seq,
      time_ms: Number.isNaN(time) ? Date.now() : time,
      level: stringOr(fields.level) ?? 'info',
      service: stringOr(fields.service) ?? service,
      message: typeof fields.message === 'string' ? fields.message : '',
      trace_id: stringOr(fields.trace_id),
      correlation_id: stringOr(fields.correlation_id),
      line,
    };
    this.#entries.push(entry);
    this.#bytes += 200 + line.length * 2;
    while (this.#bytes > this.#maxBytes && this.#head < this.#entries.length) {
      const oldest = this.#entries[this.#head++] as LogEntry;
      this.#bytes -= 200 + oldest.line.length * 2;
    }
    // Compacts now and then rather than shifting the array on every line.
    if (this.#head > 10_000 && this.#head > this.#entries.length / 2) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Matching lines, newest first. */
  query(query: LogQuery): LogEntry[] {
    const found: LogEntry[] = [];
    const minimum = query.level ? (severity[query.level] ?? 0) : 0;
    const text = query.text?.toLowerCase();
    for (let index = this.#entries.length - 1; index >= this.#head && found.length < query.limit; index--) {
      const entry = this.#entries[index] as LogEntry;
      if (query.untilMs !== undefined && entry.time_ms > query.untilMs) continue;
      if (query.sinceMs !== undefined && entry.time_ms < query.sinceMs) continue;
      if (query.service && entry.service !== query.service) continue;
      if (minimum && (severity[entry.level] ?? 0) < minimum) continue;
      if (query.traceId && entry.trace_id !== query.traceId) continue;
      if (query.correlationId && entry.correlation_id !== query.correlationId) continue;
      if (text && !entry.line.toLowerCase().includes(text)) continue;
      found.push(entry);
    }
    return found;
  }

  stats() {
    return { lines: this.#entries.length - this.#head, bytes: this.#bytes, max_bytes: this.#maxBytes };
  }
}
