import type { Alert } from '../core/alert.js';
import type { ChannelSeen } from './dedup.js';

/** One alert owed to one channel. @internal */
export interface Item {
  readonly alert: Alert;
  /** The accepted alert's sequence number (for `flush()`). */
  readonly seq: number;
  /** Its outbox entry, with an outbox. */
  readonly entryId: string | undefined;
  /** The dedup record this delivery belongs to (the firing's, for a resolved notice). */
  readonly seen: ChannelSeen | undefined;
}

/** What one `send()` delivers: items of one status and group. @internal */
export interface Batch {
  readonly status: 'firing' | 'resolved';
  readonly groupKey: string;
  readonly items: Item[];
  /** Attempts made so far in this process (the outbox adds earlier ones). */
  attempt: number;
}

/**
 * Takes items from the front of `items` (removing them) and packs them into at most
 * `maxBatches` batches of one status and group each, at most `maxGroupSize` items per batch.
 * @internal
 */
export function packBatches(items: Item[], maxBatches: number, maxGroupSize: number, groupKeyOf: (alert: Alert) => string): Batch[] {
  const done: Batch[] = [];
  const open = new Map<string, Batch>();
  while (items.length > 0 && done.length + open.size < maxBatches) {
    const item = items.shift() as Item;
    const groupKey = groupKeyOf(item.alert);
    const key = `${item.alert.status}\u0000${groupKey}`;
    let batch = open.get(key);
    if (batch === undefined || batch.items.length >= maxGroupSize) {
      if (batch !== undefined) done.push(batch);
      batch = { status: item.alert.status, groupKey, items: [], attempt: 0 };
      open.set(key, batch);
    }
    batch.items.push(item);
  }
  return [...done, ...open.values()];
}

/** Splits a batch by the thread each item's firing message started (its receipt ref). @internal */
export function splitByThread(batch: Batch): Batch[] {
  const byRef = new Map<string | undefined, Item[]>();
  for (const item of batch.items) {
    const ref = item.seen?.ref;
    const list = byRef.get(ref);
    if (list === undefined) byRef.set(ref, [item]);
    else list.push(item);
  }
  return byRef.size <= 1 ? [batch] : [...byRef.values()].map((items) => ({ ...batch, items }));
}
