import { type Envelope, envelopeSchema } from './envelope.ts';
import type { MessageContract } from './message-contract.ts';

export type Checked = { ok: true; envelope: Envelope } | { ok: false; reason: string };

const issuesOf = (error: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }) =>
  error.issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`).join('; ');

/** The message types a service knows: checks what it publishes and reads what it receives. */
export class MessageRegistry {
  readonly #contracts = new Map<string, MessageContract>();

  constructor(contracts: readonly MessageContract[]) {
    for (const contract of contracts) {
      if (this.#contracts.has(contract.type))
        throw new Error(`message type ${contract.type} is registered twice`);
      this.#contracts.set(contract.type, contract as unknown as MessageContract);
    }
  }

  contract(type: string): MessageContract | undefined {
    return this.#contracts.get(type);
  }

  /** Outgoing messages must be well formed and at the type's current version. */
  checkOutgoing(candidate: unknown): Checked {
    const parsed = envelopeSchema.safeParse(candidate);
    if (!parsed.success) return { ok: false, reason: `invalid envelope: ${issuesOf(parsed.error)}` };
    const contract = this.#contracts.get(parsed.data.event_type);
    if (!contract) return { ok: false, reason: `unknown message type ${parsed.data.event_type}` };
    if (parsed.data.event_version !== contract.version) {
      return {
        ok: false,
        reason: `${contract.type} must be published at version ${contract.version}, not ${parsed.data.event_version}`,
      };
    }
    const data = contract.schema.safeParse(parsed.data.data);
    if (!data.success) return { ok: false, reason: `invalid ${contract.type} data: ${issuesOf(data.error)}` };
    return { ok: true, envelope: { ...parsed.data, data: data.data } };
  }

  /** Incoming messages are upcast from older versions, then validated against the current schema. */
  readIncoming(candidate: unknown): Checked {
    const parsed = envelopeSchema.safeParse(candidate);
    if (!parsed.success) return { ok: false, reason: `invalid envelope: ${issuesOf(parsed.error)}` };
    const contract = this.#contracts.get(parsed.data.event_type);
    if (!contract) return { ok: false, reason: `unknown message type ${parsed.data.event_type}` };
    let { data } = parsed.data;
    let version = parsed.data.event_version;
    // A newer minor version of the same major (a producer released before this consumer): read as
    // this consumer's version. Minor versions only add what older readers may ignore; the contracts'
    // compatibility check (npm run check:contracts) holds every change to that.
    if (isNewerMinor(version, contract.version)) version = contract.version;
    const seen = new Set<string>();
    while (version !== contract.version) {
      const step = contract.upcasters?.find((upcaster) => upcaster.from === version);
      if (!step || seen.has(version)) {
        const reason = isNewerMajor(version, contract.version)
          ? `${contract.type} ${version} is a newer major version than this consumer reads (${contract.version})`
          : `no upcaster from ${contract.type} ${version} to ${contract.version}`;
        return { ok: false, reason };
      }
      seen.add(version);
      data = step.upcast(data);
      version = step.to;
    }
    const checked = contract.schema.safeParse(data);
    if (!checked.success)
      return { ok: false, reason: `invalid ${contract.type} data: ${issuesOf(checked.error)}` };
    return { ok: true, envelope: { ...parsed.data, event_version: version, data: checked.data } };
  }
}

/** `major.minor` as two numbers; undefined for anything else. */
const versionParts = (version: string): [number, number] | undefined => {
  const match = /^(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2])] : undefined;
};

const isNewerMinor = (received: string, known: string): boolean => {
  const [r, k] = [versionParts(received), versionParts(known)];
  return r !== undefined && k !== undefined && r[0] === k[0] && r[1] > k[1];
};

const isNewerMajor = (received: string, known: string): boolean => {
  const [r, k] = [versionParts(received), versionParts(known)];
  return r !== undefined && k !== undefined && r[0] > k[0];
};
