/**
 * `npm run check:contracts`: do the current contracts still work with the released ones? A service
 * is released without coordinating with the others, so version N runs beside N−1 (ARCHITECTURE §9):
 * - gRPC: `buf breaking` against compat/proto.binpb;
 * - messages: every event and command schema against compat/messages.json, both ways (a consumer of
 *   the released schema reads what is written now, a current consumer reads what was written).
 * `npm run contracts:baseline` (`--update`) records the current contracts as released: run it when
 * a release is cut, or to accept a breaking change on purpose (a new major version whose consumers
 * are upgraded first). Exits 1 with every finding listed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareMessages, type MessageBaseline, snapshotMessages } from '../src/compat/message-compat.ts';
import * as contracts from '../src/index.ts';
import type { MessageContract } from '../src/message-contract.ts';
import { protoBreaking, protoImage } from './proto-breaking.ts';

const moduleDir = fileURLToPath(new URL('..', import.meta.url));
/** `--proto-baseline <image>` and `--messages-baseline <json>` check against other baselines (tests). */
const option = (name: string) => {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
};
const protoBaseline = option('--proto-baseline') ?? path.join(moduleDir, 'compat', 'proto.binpb');
const messageBaseline = option('--messages-baseline') ?? path.join(moduleDir, 'compat', 'messages.json');

const isContract = (value: unknown): value is MessageContract =>
  typeof value === 'object' &&
  value !== null &&
  'type' in value &&
  'version' in value &&
  'schema' in value &&
  'kind' in value;

const all: MessageContract[] = Object.values(contracts as Record<string, unknown>).flatMap((value) =>
  isContract(value) ? [value] : [],
);
const current = snapshotMessages(all);

if (process.argv.includes('--update')) {
  protoImage(moduleDir, protoBaseline);
  await writeFile(messageBaseline, `${JSON.stringify(current, null, 2)}\n`);
  console.log(`recorded ${Object.keys(current).length} message types and the proto image as released`);
  process.exit(0);
}

const proto = protoBreaking(moduleDir, protoBaseline);
const released = JSON.parse(await readFile(messageBaseline, 'utf8')) as MessageBaseline;
const byType = new Map(all.map((contract) => [contract.type, contract]));
const messages = compareMessages(released, current, (type) =>
  (byType.get(type)?.upcasters ?? []).map((upcaster) => upcaster.from),
);

if (proto.ok) console.log('gRPC contracts: compatible with the released ones (buf breaking)');
else {
  console.error('gRPC contracts: breaking changes against the released ones (buf breaking):');
  for (const finding of proto.findings) console.error(`  ${finding}`);
}
if (messages.length === 0)
  console.log(`messages: ${Object.keys(current).length} types compatible with the released ones both ways`);
else {
  console.error(
    'messages: changes that a running consumer or producer of the released version cannot live with:',
  );
  for (const { problem, type } of messages) console.error(`  ${type}: ${problem}`);
}
if (!proto.ok || messages.length > 0) {
  console.error(
    'Keep N and N−1 compatible (docs/contracts.md), or run `npm run contracts:baseline` to accept it on purpose.',
  );
  process.exit(1);
}
