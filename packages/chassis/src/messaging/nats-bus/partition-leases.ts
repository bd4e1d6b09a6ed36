import { createHash, randomBytes } from 'node:crypto';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from '../../logging/create-logger.ts';

export interface PartitionLeasesSettings {
  kv: KV;
  /** Members that compete for the same partitions: a group and the destinations it consumes. */
  namespace: string;
  /** Lease names, one per partition (the partitions' durable consumer names). */
  partitions: readonly string[];
  /** A member not heard from for this long is gone and its partitions may be taken over. */
  ttlMs: number;
  logger: Logger;
  /**
   * This member's id when it must outlive the process (see `NatsBusSettings.memberId`): the
   * bucket's leases under it are claimed back at once, as taken over. Default: random.
   */
  memberId?: string;
  /**
   * Starts consuming a partition. `predecessor`: who may have held its messages when it was taken:
   * this member id's previous process (`restarted`: dead before this one started), a member judged
   * gone after a TTL of silence (`silent`), or nobody (`none`: free, or handed over in good order).
   */
  acquire: (partition: string, predecessor: Predecessor) => void;
  /** Stops consuming a partition; resolves once every message in hand is settled. */
  release: (partition: string) => Promise<void>;
}

export type Predecessor = 'none' | 'restarted' | 'silent';

interface Seen {
  value: string;
  revision: number;
  deleted: boolean;
  /** Local monotonic time this entry last changed: liveness is judged on this clock only. */
  at: number;
}

const now = () => performance.now();

/**
 * Which member of a group consumes which partition, kept in a JetStream key-value bucket so that
 * one member at a time pulls a partition and may keep many of its messages in flight without
 * breaking per-key order. Each member writes a heartbeat; a member holds its leases while it is
 * heard from and takes no more than its fair share, ceil(partitions / live members), so members
 * joining take partitions over from those holding more. Every lease change is a compare-and-set
 * on the key's revision, so two members never both win one.
 *
 * Written here because JetStream's own answer (pinned clients in priority groups) needs NATS 2.11.
 * Liveness is judged by each member on its own clock from when it saw a key change, never by
 * comparing clocks. A member that cannot write its heartbeat for two thirds of the TTL stops
 * consuming before anyone may take its partitions.
 */
export class PartitionLeases {
  readonly memberId: string;
  readonly #settings: PartitionLeasesSettings;
  /** Partitions this process has consumed; one the bucket gives it and it never had was its predecessor's. */
  readonly #everHeld = new Set<string>();
  readonly #seen = new Map<string, Seen>();
  readonly #held = new Set<string>();
  #lastBeat = Number.NEGATIVE_INFINITY;
  #watchStarted = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopWatching: (() => void) | undefined;
  #beating: Promise<void> | undefined;
  #reconciling: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(settings: PartitionLeasesSettings) {
    this.#settings = settings;
    this.memberId = settings.memberId ?? randomBytes(6).toString('hex');
  }

  /**
   * Joins the group; resolves once this member holds a partition, or every partition has a live
   * holder (more members than partitions), or after two TTLs.
   */
  async start(): Promise<void> {
    const { kv, namespace, ttlMs, logger } = this.#settings;
    await this.#beat();
    this.#watchStarted = now();
    const watcher = await kv.watch({ key: `${namespace}.>` });
    this.#stopWatching = () => watcher.stop();
    void (async () => {
      for await (const entry of watcher) this.#observe(entry);
      if (!this.#stopped) logger.warn('partition lease watch ended');
    })().catch((error: unknown) => logger.warn({ error }, 'partition lease watch ended'));
    this.#timer = setInterval(
      () => {
        this.#beating ??= this.#beat().finally(() => {
          this.#beating = undefined;
          this.#schedule();
        });
      },
      Math.max(50, Math.floor(ttlMs / 3)),
    );
    this.#schedule();
    const deadline = now() + 2 * ttlMs;
    while (this.#held.size === 0 && !this.#allHeldByOthers() && now() < deadline && !this.#stopped) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Releases every partition (each settled first), then leaves the group. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#beating;
    await this.#reconciling;
    this.#stopWatching?.();
    await Promise.all([...this.#held].map((partition) => this.#release(partition)));
    await this.#settings.kv.delete(this.#memberKey(this.memberId)).catch(() => undefined);
  }

  async #beat(): Promise<void> {
    try {
      await this.#settings.kv.put(this.#memberKey(this.memberId), '');
      this.#lastBeat = now();
    } catch (error) {
      this.#settings.logger.warn({ error }, 'partition lease heartbeat failed');
    }
  }

  #observe(entry: KvWatchEntry): void {
    // The watch may still bring an older state of a key this member has just written.
    if (entry.revision < (this.#seen.get(entry.key)?.revision ?? 0)) return;
    this.#seen.set(entry.key, {
      value: entry.operation === 'PUT' ? entry.string() : '',
      revision: entry.revision,
      deleted: entry.operation !== 'PUT',
      at: now(),
    });
    this.#schedule();
  }

  /** Runs one reconciliation at a time; a request made meanwhile runs once more after it. */
  #schedule(): void {
    if (this.#stopped) return;
    if (this.#reconciling) {
      this.#again = true;
      return;
    }
    this.#reconciling = this.#reconcile()
      .catch((error: unknown) => this.#settings.logger.warn({ error }, 'partition lease change failed'))
      .finally(() => {
        this.#reconciling = undefined;
        if (this.#again) {
          this.#again = false;
          this.#schedule();
        }
      });
  }

  async #reconcile(): Promise<void> {
    const { partitions, ttlMs } = this.#settings;
    if (now() - this.#lastBeat > (ttlMs * 2) / 3) {
      // Not heard by the others for long enough that they may soon take over: stop first.
      this.#settings.logger.debug({ since_beat_ms: Math.round(now() - this.#lastBeat) }, 'heartbeat late');
      await Promise.all([...this.#held].map((partition) => this.#stopConsuming(partition)));
      return;
    }
    for (const partition of this.#held) {
      // Taken over by another member, which judged this one gone: stop at once.
      const owner = this.#ownerOf(partition);
      if (owner !== undefined && owner !== this.memberId) await this.#stopConsuming(partition);
    }
    const members = this.#liveMembers();
    const share = Math.ceil(partitions.length / members.size);
    const mine = partitions.filter((partition) => this.#ownerOf(partition) === this.memberId);
    await Promise.all(mine.slice(share).map((partition) => this.#release(partition)));
    let holding = Math.min(mine.length, share);
    for (const partition of mine.slice(0, share)) {
      // Ours by the bucket but not consumed: after a pause in heartbeats (this process stopped
      // consuming it, its messages settled), or held by this member id's previous process, which
      // died with it: taken over then, so what that process had in hand is redelivered first.
      const predecessor = this.#everHeld.has(partition) ? 'none' : 'restarted';
      if (!this.#held.has(partition) && !(await this.#claim(partition, predecessor))) holding -= 1;
    }
    for (const partition of this.#inPreferredOrder()) {
      if (holding >= share || this.#stopped) break;
      const owner = this.#ownerOf(partition);
      if (owner !== undefined && (owner === this.memberId || this.#heardOf(owner, partition, members)))
        continue;
      if (await this.#claim(partition, owner === undefined ? 'none' : 'silent')) holding += 1;
    }
    await this.#forgetSilentMembers();
  }

  /** An owner counts as alive while heard from, or while its lease is younger (to us) than a TTL. */
  #heardOf(owner: string, partition: string, members: Set<string>): boolean {
    if (members.has(owner)) return true;
    return this.#silenceOf(this.#seen.get(this.#leaseKey(partition))) < this.#settings.ttlMs;
  }

  /** How long a key has not changed to our knowledge: since we saw it change, or began to watch. */
  #silenceOf(seen: Seen | undefined): number {
    return now() - Math.max(seen?.at ?? 0, this.#watchStarted);
  }

  /** Deletes heartbeats of members silent for ten TTLs, so crashed members do not pile up. */
  async #forgetSilentMembers(): Promise<void> {
    const prefix = this.#memberKey('');
    for (const [key, seen] of this.#seen) {
      if (!key.startsWith(prefix) || seen.deleted) continue;
      if (this.#silenceOf(seen) < 10 * this.#settings.ttlMs) continue;
      await this.#settings.kv.delete(key, { previousSeq: seen.revision }).catch(() => undefined);
    }
  }

  /** Compare-and-set on the lease key; on success, starts consuming. */
  async #claim(partition: string, predecessor: Predecessor): Promise<boolean> {
    const { kv, acquire } = this.#settings;
    const key = this.#leaseKey(partition);
    const seen = this.#seen.get(key);
    try {
      const revision = seen
        ? await kv.update(key, this.memberId, seen.revision)
        : await kv.create(key, this.memberId);
      this.#seen.set(key, { value: this.memberId, revision, deleted: false, at: now() });
    } catch (error) {
      // Another member changed it first (the watch brings its new state), or the server did not answer.
      this.#settings.logger.debug(
        { partition, predecessor, revision: seen?.revision, error: (error as Error).message },
        'partition lease claim failed',
      );
      return false;
    }
    this.#settings.logger.debug({ partition, predecessor }, 'partition lease claimed');
    this.#held.add(partition);
    this.#everHeld.add(partition);
    acquire(partition, predecessor);
    return true;
  }

  async #release(partition: string): Promise<void> {
    await this.#stopConsuming(partition);
    const key = this.#leaseKey(partition);
    const seen = this.#seen.get(key);
    if (!seen || seen.value !== this.memberId) return;
    await this.#settings.kv.delete(key, { previousSeq: seen.revision }).catch(() => undefined);
  }

  async #stopConsuming(partition: string): Promise<void> {
    if (!this.#held.delete(partition)) return;
    await this.#settings.release(partition);
  }

  #allHeldByOthers(): boolean {
    const members = this.#liveMembers();
    return this.#settings.partitions.every((partition) => {
      const owner = this.#ownerOf(partition);
      return owner !== undefined && owner !== this.memberId && members.has(owner);
    });
  }

  #ownerOf(partition: string): string | undefined {
    const seen = this.#seen.get(this.#leaseKey(partition));
    return seen && !seen.deleted ? seen.value : undefined;
  }

  #liveMembers(): Set<string> {
    const live = new Set([this.memberId]);
    const prefix = this.#memberKey('');
    for (const [key, seen] of this.#seen) {
      if (!key.startsWith(prefix) || seen.deleted) continue;
      if (this.#silenceOf(seen) < this.#settings.ttlMs) live.add(key.slice(prefix.length));
    }
    return live;
  }

  /** Starts at a place of this member's own, so members joining together rarely race for one key. */
  #inPreferredOrder(): string[] {
    const { partitions } = this.#settings;
    const offset =
      createHash('sha1').update(this.memberId).digest().readUInt32BE(0) % Math.max(1, partitions.length);
    return [...partitions.slice(offset), ...partitions.slice(0, offset)];
  }

  #memberKey(memberId: string): string {
    return `${this.#settings.namespace}.members.${memberId}`;
  }

  #leaseKey(partition: string): string {
    return `${this.#settings.namespace}.leases.${partition}`;
  }
}
