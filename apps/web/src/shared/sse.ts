import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { currentSession } from './session.ts';

/**
 * Server-Sent Events over fetch, so the request carries the bearer token (EventSource cannot send
 * headers). Reconnects after a break, resuming from the last event id, until `signal` aborts.
 */
export async function streamEvents(
  url: string,
  onEvent: (event: EventSourceMessage) => void,
  onProblem: (message: string | null) => void,
  signal: AbortSignal,
): Promise<void> {
  let lastEventId: string | undefined;
  let backoff = 250;
  while (!signal.aborted) {
    try {
      const session = currentSession();
      const response = await fetch(url, {
        headers: {
          accept: 'text/event-stream',
          ...(session ? { authorization: `Bearer ${session.accessToken}` } : {}),
          ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
        },
        signal,
      });
      if (!response.ok || !response.body) {
        onProblem(`Live updates are unavailable (${response.status}); retrying`);
        if (response.status >= 400 && response.status < 500 && response.status !== 429) return;
      } else {
        onProblem(null);
        backoff = 250;
        const parser = createParser({
          onEvent: (event) => {
            if (event.id) lastEventId = event.id;
            onEvent(event);
          },
        });
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      onProblem(`Live updates interrupted (${(error as Error).message}); reconnecting`);
    }
    await new Promise((resolve) => setTimeout(resolve, backoff));
    backoff = Math.min(backoff * 2, 3_000);
  }
}
