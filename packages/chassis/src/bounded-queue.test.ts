import { describe, expect, it } from 'vitest';
import { BoundedQueue, QueueOverflow } from './bounded-queue.ts';

const drain = async <T>(queue: BoundedQueue<T>) => {
  const seen: T[] = [];
  try {
    for await (const item of queue) seen.push(item);
    return { seen, error: undefined };
  } catch (error) {
    return { seen, error };
  }
};

describe('BoundedQueue', () => {
  it('hands items over in order, waiting for the next, until ended', async () => {
    const queue = new BoundedQueue<number>(10);
    const reading = drain(queue);
    queue.push(1);
    await Promise.resolve();
    queue.push(2);
    queue.push(3);
    queue.end();
    queue.push(4);
    expect(await reading).toEqual({ seen: [1, 2, 3], error: undefined });
  });

  it('ends a reader that falls too far behind, dropping what waited for it (it resumes from the log)', async () => {
    const queue = new BoundedQueue<number>(2);
    for (const item of [1, 2, 3, 4]) queue.push(item);
    const { seen, error } = await drain(queue);
    expect(seen).toEqual([]);
    expect(error).toBeInstanceOf(QueueOverflow);
    expect(error).toMatchObject({ kind: 'unavailable', code: 'STREAM.READER_BEHIND' });
  });
});
