import type { Alert } from '../core/alert.js';
import { AbortedError, DeliveryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Channel, DeliveryReceipt, Notification } from './channel.js';
import { packBatches, splitByThread, type Batch, type Item } from './batch.js';
import { asDeliveryError, raceSignal } from './delivery.js';
import { capRetryAfter } from './http-post.js';
import type { Outbox } from './outbox.js';
import type { ResolvedNotifierOptions } from './options.js';
import { TokenBucket } from './token-bucket.js';

/** Why a lane gave up on a batch. @internal */
export type GiveUpReason = 'permanent' | 'max-attempts' | 'ttl' | 'stopped' | 'queue-full';

/** What a lane tells the Notifier; the Notifier owns dedup, events and counters. @internal */
export interface LaneHost {
  readonly options: ResolvedNotifierOptions;
  readonly logger: Logger;
  readonly outbox: Outbox | undefined;
  /** Whether timers keep the process alive. */
  readonly persistent: boolean;
  /** Aborted when the Notifier stops: the lane's loop ends and its sleep wakes. */
  readonly halt: AbortSignal;
  /** A one-shot timer that `stop()` clears; returns a cancel function. */
  timer(callback: () => void, ms: number): () => void;
  /**
   * The same, but holding the process open while it waits: the group wait between
   * accepting an alert and its first attempt, so an accepted alert is never dropped by
   * the process exiting in between. (Retries and rate-limit waits do not hold it: a
   * channel down for a day must not keep a finished script alive; `flush()` does that.)
   */
  holdingTimer(callback: () => void, ms: number): () => void;
  groupKey(alert: Alert): string;
  /** A batch reached the channel. */
  delivered(channel: string, batch: Batch, notification: Notification, receipt: DeliveryReceipt | undefined): void;
  /** An attempt failed and another follows after `delay`. */
  retrying(channel: string, notification: Notification, attempt: number, error: DeliveryError, delay: number): void;
  /** The lane gave up on these items (they are settled by the host). */
  gaveUp(channel: string, batch: Batch, notification: Notification, error: DeliveryError, reason: GiveUpReason): void;
  /** Items dropped because the queue was full (no outbox to park them in). */
  dropped(channel: string, items: readonly Item[]): void;
}

interface Group {
  readonly batch: Batch;
  readonly cancel: () => void;
}

/**
 * Everything between acceptance and the peer for one channel: open groups (digests),
 * a bounded queue, the token bucket, the retry loop and the send itself, one delivery at
 * a time so the rate limit and a `Retry-After` apply to all of them and order is kept.
 * @internal
 */
export class Lane {
  readonly channel: Channel;
  readonly #host: LaneHost;
  readonly #bucket: TokenBucket;
  readonly #queue: Batch[] = [];
  /** With an outbox: deliveries that did not fit the queue, requeued as it drains. */
  readonly #parked: Item[] = [];
  readonly #groups = new Map<string, Group>();
  /** Whether a failure was logged since the last success: an outage logs once. */
  #failing = false;
  #wake: (() => void) | undefined;
  #done: Promise<void> | undefined;

  constructor(channel: Channel, host: LaneHost) {
    this.channel = channel;
    this.#host = host;
    // The bucket follows the Notifier's clock, the same one its timers are driven by.
    this.#bucket = new TokenBucket(host.options.rateLimitFor(channel), host.options.clock);
  }

  /** Whether the last attempt failed and no delivery has succeeded since. */
  get failing(): boolean {
    return this.#failing;
  }

  /** Batches queued plus items parked (deliveries waiting for this channel). */
  get backlog(): number {
    let n = this.#parked.length;
    for (const batch of this.#queue) n += batch.items.length;
    for (const group of this.#groups.values()) n += group.batch.items.length;
    return n;
  }

  /** Starts the delivery loop. */
  start(): void {
    this.#done ??= this.#work();
  }

  /** Wakes the loop so it sees the halt, and waits for it to end. */
  async stopped(): Promise<void> {
    this.#wake?.();
    await this.#done;
  }

  /** Adds a delivery to its group; the group is sent after `groupWait` or when full. */
  enqueue(item: Item): void {
    const options = this.#host.options;
    const groupKey = this.#host.groupKey(item.alert);
    const key = `${item.alert.status}\u0000${groupKey}`;
    let group = this.#groups.get(key);
    if (group === undefined) {
      const batch: Batch = { status: item.alert.status, groupKey, items: [], attempt: 0 };
      group = { batch, cancel: this.#host.holdingTimer(() => this.#closeGroup(key), options.groupWait) };
      this.#groups.set(key, group);
    }
    group.batch.items.push(item);
    if (group.batch.items.length >= options.maxGroupSize) this.#closeGroup(key);
  }

  /** Sends every open group now (flush, stop). */
  closeGroups(): void {
    for (const key of [...this.#groups.keys()]) this.#closeGroup(key);
  }

  /** After the loop ended: everything still owed, parked items first. */
  drain(): { parked: Item[]; queued: Batch[] } {
    return { parked: this.#parked.splice(0), queued: this.#queue.splice(0) };
  }

  #closeGroup(key: string): void {
    const group = this.#groups.get(key);
    if (group === undefined) return;
    this.#groups.delete(key);
    group.cancel();
    if (this.#queue.length >= this.#host.options.maxQueue) {
      if (this.#host.outbox !== undefined) {
        // The outbox already holds these alerts in memory and on disk; park the small
        // references and requeue them as the channel catches up, so nothing accepted is lost.
        this.#parked.push(...group.batch.items);
        return;
      }
      // Bounded memory in a storm: the channel cannot keep up, so drop rather than grow
      // without limit, and say so.
      this.#host.dropped(this.channel.name, group.batch.items);
      return;
    }
    this.#queue.push(group.batch);
    this.#wake?.();
  }

  async #work(): Promise<void> {
    const halt = this.#host.halt;
    const maxQueue = this.#host.options.maxQueue;
    while (!halt.aborted) {
      if (this.#parked.length > 0 && this.#queue.length < maxQueue / 2) this.#unpark();
      const batch = this.#queue[0];
      if (batch === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      if (batch.status === 'resolved' && this.#splitByThread(batch)) continue;
      if (this.#expire(batch)) continue;
      const wait = this.#bucket.take();
      if (wait > 0) {
        await this.#sleep(wait);
        continue;
      }
      await this.#attempt(batch);
    }
  }

  #unpark(): void {
    const options = this.#host.options;
    const room = options.maxQueue - this.#queue.length;
    this.#queue.push(...packBatches(this.#parked, room, options.maxGroupSize, (alert) => this.#host.groupKey(alert)));
  }

  // A resolved digest can reply in one thread only; split it by the firing messages' refs.
  #splitByThread(batch: Batch): boolean {
    const parts = splitByThread(batch);
    if (parts.length <= 1) return false;
    this.#queue.splice(0, 1, ...parts);
    return true;
  }

  // Outbox entries past their TTL go to the dead-letter file instead of being sent late.
  #expire(batch: Batch): boolean {
    const outbox = this.#host.outbox;
    const ttl = this.#host.options.outbox?.ttl;
    if (outbox === undefined || ttl === undefined) return false;
    const now = this.#host.options.clock();
    const stale = batch.items.filter((i) => i.entryId !== undefined && now - (outbox.acceptedAt(i.entryId) ?? now) > ttl);
    if (stale.length === 0) return false;
    const name = this.channel.name;
    const error = new DeliveryError(`Not delivered to ${name} within the outbox TTL (${ttl} ms)`, { channel: name, retryable: false });
    const rest = batch.items.filter((i) => !stale.includes(i));
    const staleBatch = { ...batch, items: stale };
    this.#logFailure(error, staleBatch, 'ttl');
    this.#host.gaveUp(name, staleBatch, notificationOf(staleBatch), error, 'ttl');
    if (rest.length === 0) this.#queue.shift();
    else this.#queue.splice(0, 1, { ...batch, items: rest });
    return true;
  }

  async #attempt(batch: Batch): Promise<void> {
    const host = this.#host;
    const name = this.channel.name;
    const outbox = host.outbox;
    const before = outbox === undefined ? 0 : Math.max(0, ...batch.items.map((i) => (i.entryId === undefined ? 0 : outbox.attempts(i.entryId, name))));
    batch.attempt = Math.max(batch.attempt, before) + 1;
    const attempt = batch.attempt;
    const notification = notificationOf(batch);
    const controller = new AbortController();
    const onHalt = (): void => controller.abort(new AbortedError('The Notifier stopped'));
    host.halt.addEventListener('abort', onHalt, { once: true });
    const sendTimeout = host.options.sendTimeout;
    const cancelTimeout = host.timer(() => controller.abort(new DeliveryError(`${name}: no answer within ${sendTimeout} ms`, { channel: name, retryable: true })), sendTimeout);
    let receipt: DeliveryReceipt | void;
    try {
      receipt = await raceSignal(this.channel.send(notification, { signal: controller.signal, attempt }), controller.signal);
    } catch (thrown) {
      if (host.halt.aborted) return; // stopping: the batch stays queued (and in the outbox)
      const error = asDeliveryError(controller.signal.aborted ? controller.signal.reason : thrown, name);
      await this.#failedAttempt(batch, notification, error);
      return;
    } finally {
      cancelTimeout();
      host.halt.removeEventListener('abort', onHalt);
    }
    this.#queue.shift();
    if (this.#failing) {
      this.#failing = false;
      host.logger.info(`Notifier: delivery to ${name} works again`, { channel: name, attempt });
    }
    host.delivered(name, batch, notification, receipt ?? undefined);
  }

  async #failedAttempt(batch: Batch, notification: Notification, error: DeliveryError): Promise<void> {
    const host = this.#host;
    const name = this.channel.name;
    const options = host.options;
    const limit = options.outbox?.maxAttempts ?? options.retry.maxAttempts;
    if (host.outbox !== undefined) for (const item of batch.items) if (item.entryId !== undefined) host.outbox.markAttempt(item.entryId, name);
    if (!error.retryable || batch.attempt >= limit) {
      this.#queue.shift();
      this.#logFailure(error, batch, error.retryable ? 'max-attempts' : 'permanent');
      host.gaveUp(name, batch, notification, error, error.retryable ? 'max-attempts' : 'permanent');
      return;
    }
    const { initialDelay, maxDelay, factor } = options.retry;
    const ceiling = Math.min(maxDelay, initialDelay * factor ** (batch.attempt - 1));
    // Jitter (half fixed, half random) spreads the retries of many hosts hitting one peer;
    // a Retry-After (capped, whatever the channel says) is a floor.
    let delay = Math.round(ceiling / 2 + (options.random() * ceiling) / 2);
    if (error.retryAfterMs !== undefined) {
      const asked = capRetryAfter(error.retryAfterMs);
      delay = Math.max(delay, asked);
      this.#bucket.pause(asked);
    }
    this.#logFailure(error, batch, 'retrying', delay);
    host.retrying(name, notification, batch.attempt, error, delay);
    await this.#sleep(delay);
  }

  // One warning per outage: the first failure is logged, the rest are events only, until
  // a delivery succeeds ("works again" is logged then).
  #logFailure(error: DeliveryError, batch: Batch, what: string, delay?: number): void {
    if (this.#failing) return;
    this.#failing = true;
    const name = this.channel.name;
    const meta = { channel: name, attempt: batch.attempt, alerts: batch.items.length, error: error.message, ...(delay === undefined ? {} : { delay }) };
    if (what === 'retrying') this.#host.logger.warn(`Notifier: delivery to ${name} failed, retrying (logged once until a delivery succeeds)`, meta);
    else this.#host.logger.error(`Notifier: could not deliver to ${name}: ${error.message}`, { ...meta, reason: what });
  }

  /** Logs a give-up decided outside the loop (stop, TTL) the same way. */
  logGiveUp(error: DeliveryError, batch: Batch, reason: GiveUpReason): void {
    this.#logFailure(error, batch, reason);
  }

  #sleep(ms: number): Promise<void> {
    const halt = this.#host.halt;
    if (halt.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        cancel();
        halt.removeEventListener('abort', done);
        resolve();
      };
      const cancel = this.#host.timer(done, ms);
      halt.addEventListener('abort', done, { once: true });
    });
  }
}

/** The notification a batch is sent as. @internal */
export function notificationOf(batch: Batch): Notification {
  const alerts = batch.items.map((i) => i.alert);
  const ref = batch.status === 'resolved' ? batch.items[0]?.seen?.ref : undefined;
  return ref === undefined ? { status: batch.status, alerts, groupKey: batch.groupKey } : { status: batch.status, alerts, groupKey: batch.groupKey, threadRef: ref };
}
