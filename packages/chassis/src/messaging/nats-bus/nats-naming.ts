import { createHash } from 'node:crypto';
import type { DestinationKind } from '../message-bus.port.ts';

/**
 * How bus destinations map onto JetStream. Events go to `mercato.events.<topic>.p<n>` in one stream
 * per bounded context (the topic's first word: `product.created` → stream EVENTS_PRODUCT); commands
 * go to `mercato.queues.<queue>.p<n>` in a work-queue stream of their own. `p<n>` is the key's
 * partition: one member of a group at a time consumes a partition (it holds its lease), which
 * keeps per-key order across competing members.
 */
export const safeName = (value: string): string => value.replace(/[^A-Za-z0-9_-]/g, '_');

export const partitionOf = (key: string, partitions: number): number =>
  createHash('sha1').update(key).digest().readUInt32BE(0) % partitions;

export const subjectFor = (kind: DestinationKind, destination: string, partition: number): string =>
  `mercato.${kind === 'topic' ? 'events' : 'queues'}.${destination}.p${partition}`;

export interface StreamPlan {
  name: string;
  subjects: string[];
  workQueue: boolean;
}

export const streamFor = (kind: DestinationKind, destination: string): StreamPlan => {
  if (kind === 'queue') {
    return {
      name: `QUEUE_${safeName(destination).toUpperCase()}`,
      subjects: [`mercato.queues.${destination}.>`],
      workQueue: true,
    };
  }
  const context = destination.split('.')[0] ?? destination;
  return {
    name: `EVENTS_${safeName(context).toUpperCase()}`,
    subjects: [`mercato.events.${context}.>`],
    workQueue: false,
  };
};

export const durableFor = (group: string, destination: string, partition: number): string =>
  `${safeName(group)}__${safeName(destination)}__p${partition}`;

/** Members competing for the same partitions: one group consuming one set of destinations. */
export const leaseNamespace = (options: {
  group: string;
  kind: DestinationKind;
  destinations: readonly string[];
}) =>
  `${safeName(options.group)}.${createHash('sha1')
    .update([options.kind, ...[...options.destinations].sort()].join('\n'))
    .digest('hex')
    .slice(0, 12)}`;
