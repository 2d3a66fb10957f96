import { compareSeverity, type Severity } from '../core/severity.js';
import type { SeenRecord } from './outbox.js';

/** What one channel was told about one key. @internal */
export interface ChannelSeen {
  /** When the firing was last announced to this channel. */
  at: number;
  /** The announced alert's own time (when its source observed it). */
  observed: number;
  severity: Severity;
  /**
   * Restored from the outbox: announced by an earlier run, whose sources' state (the
   * log watcher's windows, the scanner's findings) is gone with it.
   */
  restored?: boolean;
  /** The channel's receipt for the firing message (e.g. Slack `ts`), once delivered. */
  ref?: string;
}

interface KeyState {
  lastSeen: number;
  readonly channels: Map<string, ChannelSeen>;
}

/**
 * The Notifier's memory of what was announced where (Alertmanager's notification log):
 * bounded by key count (least recently seen forgotten first) and by age.
 * @internal
 */
export class DedupMemory {
  readonly #keys = new Map<string, KeyState>();
  readonly #maxKeys: number;
  readonly #ttl: number;
  readonly #repeatInterval: number;

  constructor(options: { maxKeys: number; ttl: number; repeatInterval: number }) {
    this.#maxKeys = options.maxKeys;
    this.#ttl = options.ttl;
    this.#repeatInterval = options.repeatInterval;
  }

  /** Keys remembered. */
  get size(): number {
    return this.#keys.size;
  }

  /**
   * Whether a firing alert should go to `channel` now: never told, told longer than
   * `repeatInterval` ago, told at a lower severity (an escalation is news), or told by
   * an earlier run about an observation older than this one (see below).
   * When it should, records the announcement.
   *
   * Memory restored from the outbox suppresses only what the earlier run already
   * reported: an alert observed no later than the announced one (a replayed or re-read
   * alert). Anything observed after it comes from a source that started afresh, so
   * the Notifier cannot tell a new attack or a re-infection from the old one and says it
   * again: a duplicate after a restart costs a message, a hidden event costs a breach.
   */
  announce(key: string, channel: string, severity: Severity, now: number, observed: number): boolean {
    const state = this.#touch(key, now);
    const seen = state.channels.get(channel);
    if (seen !== undefined && now - seen.at < this.#repeatInterval && compareSeverity(severity, seen.severity) <= 0 && !(seen.restored === true && observed > seen.observed))
      return false;
    // A repeat keeps the old ref so the resolved notice still threads under the first message.
    const fresh: ChannelSeen = { at: now, observed, severity };
    if (seen?.ref !== undefined) fresh.ref = seen.ref;
    state.channels.set(channel, fresh);
    return true;
  }

  /** The live record of what `channel` saw for `key` (the object is updated in place). */
  get(key: string, channel: string): ChannelSeen | undefined {
    return this.#keys.get(key)?.channels.get(channel);
  }

  /** Forgets an announcement that was never delivered, so the next firing tries again. */
  forget(key: string, channel: string, seen?: ChannelSeen): void {
    const state = this.#keys.get(key);
    if (state === undefined) return;
    if (seen !== undefined && state.channels.get(channel) !== seen) return;
    state.channels.delete(channel);
    if (state.channels.size === 0) this.#keys.delete(key);
  }

  /** For a resolved alert: the channels that saw the firing, and forgets the key. */
  resolve(key: string): Map<string, ChannelSeen> | undefined {
    const state = this.#keys.get(key);
    this.#keys.delete(key);
    return state?.channels;
  }

  /** Drops keys not seen within the TTL. */
  sweep(now: number): void {
    for (const [key, state] of this.#keys) if (now - state.lastSeen > this.#ttl) this.#keys.delete(key);
  }

  /** Restores remembered announcements (from the outbox). */
  load(records: Iterable<SeenRecord>): void {
    for (const r of records) {
      const state = this.#touch(r.key, r.at);
      const seen: ChannelSeen = { at: r.at, observed: r.observed ?? r.at, severity: r.severity, restored: true };
      if (r.ref !== undefined) seen.ref = r.ref;
      state.channels.set(r.channel, seen);
    }
  }

  /** Every remembered announcement, for the outbox's compaction. */
  *snapshot(): Generator<SeenRecord> {
    for (const [key, state] of this.#keys) {
      for (const [channel, seen] of state.channels) {
        const record: SeenRecord = { key, channel, at: seen.at, observed: seen.observed, severity: seen.severity };
        yield seen.ref === undefined ? record : { ...record, ref: seen.ref };
      }
    }
  }

  #touch(key: string, now: number): KeyState {
    let state = this.#keys.get(key);
    if (state === undefined) {
      state = { lastSeen: now, channels: new Map() };
      if (this.#keys.size >= this.#maxKeys) {
        const oldest = this.#keys.keys().next();
        if (oldest.done !== true) this.#keys.delete(oldest.value);
      }
    } else {
      this.#keys.delete(key); // re-insert: Map order doubles as the LRU list
      state.lastSeen = Math.max(state.lastSeen, now);
    }
    this.#keys.set(key, state);
    return state;
  }
}
