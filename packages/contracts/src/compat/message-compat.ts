import * as z from 'zod';
import type { MessageContract } from '../message-contract.ts';
import { type JsonSchema, readerAccepts } from './schema-compat.ts';

/** A message type as released: its version and what its readers accept and its writers write. */
export interface MessageSnapshot {
  version: string;
  kind: 'event' | 'command';
  /** The schema a consumer parses with (defaults make a field optional here). */
  reads: JsonSchema;
  /** The schema of what a producer publishes (defaults filled in). */
  writes: JsonSchema;
}

/** The released message types, by type: `packages/contracts/compat/messages.json`. */
export type MessageBaseline = Record<string, MessageSnapshot>;

export interface MessageProblem {
  type: string;
  problem: string;
}

const jsonSchemaOf = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
};

export function snapshotMessages(contracts: readonly MessageContract[]): MessageBaseline {
  const baseline: MessageBaseline = {};
  for (const contract of [...contracts].sort((a, b) => a.type.localeCompare(b.type)))
    baseline[contract.type] = {
      version: contract.version,
      kind: contract.kind,
      reads: jsonSchemaOf(contract.schema, 'input'),
      writes: jsonSchemaOf(contract.schema, 'output'),
    };
  return baseline;
}

const majorOf = (version: string) => version.split('.')[0] ?? version;

/**
 * What breaks between the released message types and the current ones, given that a release runs
 * version N beside N−1 (ARCHITECTURE §9): within a major version, a consumer of the released
 * schema must read what the current producer writes, and a current consumer must read what the
 * released producer wrote (messages in flight, stored, replayed). A new major version cannot be read
 * by the released consumers at all, so it is reported: it needs an upcaster from the released
 * version, and consumers upgraded before producers; once that is planned, the baseline is updated
 * on purpose (`npm run contracts:baseline`). A removed type is reported too; a new one is not.
 */
export function compareMessages(
  released: MessageBaseline,
  current: MessageBaseline,
  upcastersFrom: (type: string) => readonly string[],
): MessageProblem[] {
  const problems: MessageProblem[] = [];
  for (const [type, before] of Object.entries(released)) {
    const now = current[type];
    if (!now) {
      problems.push({
        type,
        problem: `was removed; consumers and stored messages of ${type} ${before.version} still exist`,
      });
      continue;
    }
    const label = `${type} ${before.version} → ${now.version}`;
    if (majorOf(before.version) !== majorOf(now.version)) {
      const upcast = upcastersFrom(type).includes(before.version);
      problems.push({
        type,
        problem: `${label} is a new major version: consumers of ${before.version} cannot read it${upcast ? '' : `, and there is no upcaster from ${before.version}`}. Upgrade its consumers first, then update the baseline`,
      });
      continue;
    }
    for (const issue of readerAccepts(before.reads, now.writes))
      problems.push({
        type,
        problem: `${label}: a consumer of ${before.version} cannot read what is written now: ${issue.path} ${issue.problem}`,
      });
    for (const issue of readerAccepts(now.reads, before.writes))
      problems.push({
        type,
        problem: `${label}: a consumer of ${now.version} cannot read what ${before.version} wrote: ${issue.path} ${issue.problem}`,
      });
  }
  return problems;
}
