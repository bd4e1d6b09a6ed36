import { waitFor } from '@mercato/chassis/testing';

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * A Server-Sent Events client as a browser's EventSource would be, without its automatic
 * reconnection: the test reconnects itself, with `Last-Event-ID`, to see what resuming does.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly status: number;
  readonly #controller: AbortController;
  #ended = false;

  private constructor(status: number, controller: AbortController) {
    this.status = status;
    this.#controller = controller;
  }

  static async open(url: string, token: string, lastEventId?: string): Promise<SseClient> {
    const controller = new AbortController();
    const response = await fetch(url, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
        ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
      },
      signal: controller.signal,
    });
    const client = new SseClient(response.status, controller);
    if (response.ok && response.body) void client.#read(response.body);
    else client.#ended = true;
    return client;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get lastId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  async until(description: string, done: (events: SseEvent[]) => boolean, timeoutMs = 30_000): Promise<void> {
    await waitFor(description, () => done(this.events), timeoutMs, 50);
  }

  close(): void {
    this.#controller.abort();
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of frame.split('\n')) {
            if (line.startsWith(':') || !line.includes(':')) continue;
            const at = line.indexOf(':');
            fields.set(line.slice(0, at), line.slice(at + 1).trimStart());
          }
          const data = fields.get('data');
          if (data !== undefined)
            this.events.push({
              id: fields.get('id'),
              event: fields.get('event') ?? 'message',
              data: JSON.parse(data),
            });
        }
      }
    } catch {
      // aborted, or the server went away: the test sees `ended`
    } finally {
      this.#ended = true;
    }
  }
}
