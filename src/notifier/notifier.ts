import type { Alert } from '../core/alert.js';
import { AbortedError, DeliveryError, InvalidOptionError, ListenerError, StateError } from '../core/errors.js';
import { Component, toError } from '../core/lifecycle.js';
import { isAtLeast } from '../core/severity.js';
import type { Channel, DeliveryReceipt, Notification } from './channel.js';
import { packBatches, splitByThread, type Batch, type Item } from './batch.js';
import { DedupMemory, type ChannelSeen } from './dedup.js';
import type { NotifierEvents, SuppressReason } from './events.js';
import { resolveNotifierOptions, type NotifierOptions, type ResolvedNotifierOptions } from './options.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { SettleTracker } from './settle.js';
import { TokenBucket } from './token-bucket.js';
import { asDeliveryError, checkAlert, raceSignal } from './delivery.js';

/** Anything with `'alert'` events: LogWatcher, ResourceMonitor, FileScanner or your own emitter. */
export interface AlertSource {
  /** Subscribes to alerts. */
  on(event: 'alert', listener: (alert: Alert) => void): unknown;
  /** Unsubscribes (eventemitter3 and Node emitters). */
  off?(event: 'alert', listener: (alert: Alert) => void): unknown;
  /** Unsubscribes (older emitters). */
  removeListener?(event: 'alert', listener: (alert: Alert) => void): unknown;
}

/** Counters for dashboards and metrics exporters. */
export interface NotifierStats {
  /** Deliveries (alert × channel) accepted but not yet delivered or given up. */
  readonly pending: number;
  /** Outbox entries still owed to at least one channel (0 without an outbox). */
  readonly outboxDepth: number;
  /** Notifications delivered (a digest counts once). */
  readonly sent: number;
  /** Notifications given up on. */
  readonly failed: number;
  /** Alert × channel pairs suppressed (dedup, severity, route, full queue). */
  readonly suppressed: number;
}

interface Group {
  readonly batch: Batch;
  readonly cancel: () => void;
}

interface Lane {
  readonly channel: Channel;
  readonly bucket: TokenBucket;
  readonly queue: Batch[];
  /** With an outbox: deliveries that did not fit the queue, requeued as it drains. */
  readonly parked: Item[];
  readonly groups: Map<string, Group>;
  /** Failure messages already logged; cleared by a success, so an outage logs once. */
  readonly logged: Set<string>;
  wake: (() => void) | undefined;
  done: Promise<void> | undefined;
}

/**
 * Delivers alerts to channels with Alertmanager's discipline: dedup by key within a
 * repeat interval, resolved notices only where the firing went, bursts grouped into one
 * digest, a token-bucket rate limit per channel, retries with jittered exponential
 * backoff (never on permanent errors), and an optional fsync'd outbox that survives an
 * outage and a restart.
 *
 * @example
 * const notifier = new Notifier({
 *   channels: [
 *     new SlackChannel({ token: process.env.SLACK_TOKEN!, channel: '#ops', minSeverity: 'warning' }),
 *     new LogChannel({ logger: createLogger() }),
 *   ],
 *   outbox: { directory: '/var/lib/myapp/outbox' },
 * });
 * notifier.on('failed', ({ channel, error }) => console.error(channel, error.message));
 * notifier.attach(watcher, monitor);
 * await notifier.start();
 */
export class Notifier extends Component<NotifierEvents> {
  readonly #options: ResolvedNotifierOptions;
  readonly #lanes: Lane[];
  readonly #dedup: DedupMemory;
  readonly #outbox: Outbox | undefined;
  readonly #sources = new Set<AlertSource>();
  readonly #detach = new Map<AlertSource, () => void>();
  readonly #settle = new SettleTracker();
  readonly #halt = new AbortController();
  #pending = 0;
  #sent = 0;
  #failed = 0;
  #suppressed = 0;

  /** @throws {@link InvalidOptionError} naming the first invalid option. */
  constructor(options: NotifierOptions) {
    const resolved = resolveNotifierOptions(options);
    super(options);
    this.#options = resolved;
    this.#dedup = new DedupMemory({ maxKeys: resolved.maxKeys, ttl: resolved.stateTtl, repeatInterval: resolved.repeatInterval });
    this.#lanes = resolved.channels.map((channel) => ({
      channel,
      // Rate limits follow the real clock the retry timers sleep on, not the injected `now`.
      bucket: new TokenBucket(resolved.rateLimitFor(channel)),
      queue: [],
      parked: [],
      groups: new Map(),
      logged: new Set(),
      wake: undefined,
      done: undefined,
    }));
    if (resolved.outbox !== undefined) {
      this.#outbox = new Outbox({
        directory: resolved.outbox.directory,
        compactAfter: resolved.outbox.compactAfter,
        logger: this.logger,
        snapshotSeen: () => this.#dedup.snapshot(),
      });
    }
  }

  /** Counters for metrics; cheap to read. */
  get stats(): NotifierStats {
    return {
      pending: this.#pending,
      outboxDepth: this.#outbox?.depth ?? 0,
      sent: this.#sent,
      failed: this.#failed,
      suppressed: this.#suppressed,
    };
  }

  /**
   * Subscribes to the `'alert'` events of each emitter (now if running, else at
   * `start()`) until `stop()`. An alert that cannot be accepted becomes an `'error'` event.
   */
  attach(...sources: AlertSource[]): this {
    if (this.stopping) throw new StateError('Cannot attach to a stopped Notifier');
    for (const source of sources) {
      if (typeof source?.on !== 'function') throw new InvalidOptionError('source', source, "an emitter with 'alert' events");
      if (this.#sources.has(source)) continue;
      this.#sources.add(source);
      if (this.state === 'running') this.#subscribe(source);
    }
    return this;
  }

  /**
   * Accepts one alert for delivery. Resolves once it is accepted (with an outbox: once
   * it is fsync'd), not when it is delivered; use `flush()` for that. Alerts that are
   * deduplicated, below every channel's severity or routed nowhere resolve at once and
   * emit `'suppressed'`.
   *
   * @throws {@link StateError} before `start()` or after `stop()`.
   * @throws {@link InvalidOptionError} when `alert` is not an Alert.
   * @throws {@link IoError} when the outbox cannot be written (the alert was not accepted).
   */
  async notify(alert: Alert): Promise<void> {
    if (this.state === 'starting') await this.start();
    if (this.state !== 'running') throw new StateError(`Cannot notify: the Notifier is ${this.state}`);
    checkAlert(alert);
    const now = this.#options.now();
    const targets: { lane: Lane; seen: ChannelSeen | undefined }[] = [];
    if (alert.status === 'firing') {
      for (const lane of this.#lanes) {
        const reason = this.#rejects(alert, lane.channel);
        if (reason !== undefined) this.#suppress(alert, reason, lane.channel.name);
        else if (!this.#dedup.announce(alert.key, lane.channel.name, alert.severity, now)) this.#suppress(alert, 'duplicate', lane.channel.name);
        else targets.push({ lane, seen: this.#dedup.get(alert.key, lane.channel.name) });
      }
    } else {
      const told = this.#dedup.resolve(alert.key);
      for (const lane of this.#lanes) {
        const seen = told?.get(lane.channel.name);
        if (seen !== undefined) targets.push({ lane, seen });
      }
      if (targets.length === 0) this.#suppress(alert, 'duplicate');
    }
    if (targets.length === 0) return;
    let entryId: string | undefined;
    if (this.#outbox !== undefined) {
      try {
        const refs = new Map<string, string>();
        if (alert.status === 'resolved') for (const t of targets) if (t.seen?.ref !== undefined) refs.set(t.lane.channel.name, t.seen.ref);
        entryId = await this.#outbox.append(alert, targets.map((t) => t.lane.channel.name), now, refs);
      } catch (error) {
        // Not accepted: undo the dedup bookkeeping so a retry of notify() is not suppressed.
        if (alert.status === 'firing') for (const t of targets) this.#dedup.forget(alert.key, t.lane.channel.name, t.seen);
        throw error;
      }
      if (this.stopping) return; // accepted into the outbox; the next start delivers it
    }
    const seq = this.#settle.add(targets.length);
    for (const t of targets) this.#enqueue(t.lane, { alert, seq, entryId, seen: t.seen });
  }

  /**
   * Sends every open group now and resolves when everything accepted so far has been
   * delivered or given up on. Keeps the process alive while it waits.
   */
  flush(): Promise<void> {
    const upTo = this.#settle.last;
    for (const lane of this.#lanes) for (const key of [...lane.groups.keys()]) this.#closeGroup(lane, key);
    if (this.#settle.settledUpTo(upTo)) return Promise.resolve();
    // Unlike the component's timers, a pending flush holds the process open: a script's
    // final `await notifier.flush()` must deliver before the process exits.
    const keepAlive = setInterval(() => {}, 1 << 30);
    return this.#settle.wait(upTo).finally(() => clearInterval(keepAlive));
  }

  protected override async onStart(): Promise<void> {
    if (this.#outbox !== undefined) {
      const { entries, seen } = await this.#outbox.open();
      this.#dedup.load(seen);
      this.#resume(entries);
    }
    for (const lane of this.#lanes) await lane.channel.open?.();
    for (const lane of this.#lanes) lane.done = this.#work(lane);
    for (const source of this.#sources) this.#subscribe(source);
    const sweepEvery = Math.min(this.#options.stateTtl, 60_000) || 60_000;
    this.setRepeating(() => this.#dedup.sweep(this.#options.now()), sweepEvery);
  }

  protected override async onStop(): Promise<void> {
    for (const detach of this.#detach.values()) detach();
    this.#detach.clear();
    const deadline = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.stopTimeout);
      this.#halt.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
    });
    await Promise.race([this.flush(), deadline]);
    this.#halt.abort();
    for (const lane of this.#lanes) lane.wake?.();
    await Promise.all(this.#lanes.map((lane) => lane.done ?? Promise.resolve()));
    let left = 0;
    for (const lane of this.#lanes) {
      for (const item of lane.parked.splice(0)) {
        left++;
        this.#complete(item);
      }
      for (const batch of lane.queue.splice(0)) {
        left += batch.items.length;
        if (this.#outbox === undefined) {
          const error = new DeliveryError(`Not delivered to ${lane.channel.name}: the Notifier stopped first`, { channel: lane.channel.name, retryable: true, cause: new AbortedError() });
          this.#fail(lane, batch, error, false);
        } else {
          for (const item of batch.items) this.#complete(item);
        }
      }
    }
    if (left > 0 && this.#outbox !== undefined) this.logger.warn('Notifier stopped with undelivered alerts; they stay in the outbox for the next start', { count: left });
    for (const lane of this.#lanes) {
      try {
        await lane.channel.close?.();
      } catch (error) {
        this.emitError(toError(error));
      }
    }
    await this.#outbox?.close();
    this.#settle.releaseAll();
  }

  #subscribe(source: AlertSource): void {
    const listener = (alert: Alert): void => {
      this.notify(alert).catch((error: unknown) => {
        if (this.stopping) this.logger.warn('Notifier: an alert arrived while stopping and was not accepted', { key: (alert as Partial<Alert>)?.key });
        else this.emitError(toError(error));
      });
    };
    source.on('alert', listener);
    const off = (): void => {
      if (source.off) source.off('alert', listener);
      else source.removeListener?.('alert', listener);
    };
    this.#detach.set(source, this.onCleanup(off));
  }

  #rejects(alert: Alert, channel: Channel): SuppressReason | undefined {
    if (!isAtLeast(alert.severity, channel.minSeverity)) return 'severity';
    if (this.#options.route !== undefined && !this.#userCall('route', () => this.#options.route?.(alert, channel) ?? true, true)) return 'route';
    return undefined;
  }

  #suppress(alert: Alert, reason: SuppressReason, channel?: string): void {
    this.#suppressed++;
    this.emitSafely('suppressed', channel === undefined ? { alert, reason } : { alert, reason, channel });
  }

  #resume(entries: readonly OutboxEntry[]): void {
    for (const entry of entries) {
      const lanes: Lane[] = [];
      for (const name of entry.channels.keys()) {
        const lane = this.#lanes.find((l) => l.channel.name === name);
        if (lane !== undefined) lanes.push(lane);
        else {
          this.logger.warn('Outbox: an entry is owed to a channel that is no longer configured; moving it to the dead-letter file', { channel: name, key: entry.alert.key });
          void this.#outbox?.deadLetter(entry.id, name, 'channel no longer configured', this.#options.now()).catch((error: unknown) => this.emitError(toError(error)));
        }
      }
      if (lanes.length === 0) continue;
      const seq = this.#settle.add(lanes.length);
      for (const lane of lanes) {
        let seen: ChannelSeen | undefined;
        if (entry.alert.status === 'firing') {
          seen = this.#dedup.get(entry.alert.key, lane.channel.name);
          if (seen === undefined) {
            this.#dedup.announce(entry.alert.key, lane.channel.name, entry.alert.severity, this.#options.now());
            seen = this.#dedup.get(entry.alert.key, lane.channel.name);
          }
        } else {
          // A resolved notice still owed: thread it under the firing message it answers.
          const ref = entry.refs?.get(lane.channel.name);
          seen = { at: entry.acceptedAt, severity: entry.alert.severity, ...(ref === undefined ? {} : { ref }) };
        }
        this.#enqueue(lane, { alert: entry.alert, seq, entryId: entry.id, seen });
      }
    }
  }

  #groupKey(alert: Alert): string {
    const key = this.#userCall('groupBy', () => this.#options.groupBy(alert), `${alert.source}:${alert.rule}`);
    return typeof key === 'string' ? key : String(key);
  }

  // A throwing `route` or `groupBy` must not lose the alert: report it, use the default.
  #userCall<T>(option: string, call: () => T, fallback: T): T {
    try {
      return call();
    } catch (error) {
      this.emitError(new ListenerError(option, error));
      return fallback;
    }
  }

  #enqueue(lane: Lane, item: Item): void {
    this.#pending++;
    const groupKey = this.#groupKey(item.alert);
    const key = `${item.alert.status}\u0000${groupKey}`;
    let group = lane.groups.get(key);
    if (group === undefined) {
      const batch: Batch = { status: item.alert.status, groupKey, items: [], attempt: 0 };
      group = { batch, cancel: this.setTimer(() => this.#closeGroup(lane, key), this.#options.groupWait) };
      lane.groups.set(key, group);
    }
    group.batch.items.push(item);
    if (group.batch.items.length >= this.#options.maxGroupSize) this.#closeGroup(lane, key);
  }

  #closeGroup(lane: Lane, key: string): void {
    const group = lane.groups.get(key);
    if (group === undefined) return;
    lane.groups.delete(key);
    group.cancel();
    if (lane.queue.length >= this.#options.maxQueue) {
      if (this.#outbox !== undefined) {
        // The outbox already holds these alerts in memory and on disk; park the small
        // references and requeue them as the channel catches up, so nothing accepted is lost.
        lane.parked.push(...group.batch.items);
        return;
      }
      // Bounded memory in a storm: the channel cannot keep up, so drop rather than grow
      // without limit, and say so.
      for (const item of group.batch.items) {
        this.#suppress(item.alert, 'rate-limit', lane.channel.name);
        if (item.alert.status === 'firing') this.#dedup.forget(item.alert.key, lane.channel.name, item.seen);
        this.#complete(item);
      }
      return;
    }
    lane.queue.push(group.batch);
    lane.wake?.();
  }

  // One loop per channel: deliveries to a channel are sequential, so its rate limit and a
  // Retry-After apply to all of them and order is kept.
  async #work(lane: Lane): Promise<void> {
    const halt = this.#halt.signal;
    while (!halt.aborted) {
      if (lane.parked.length > 0 && lane.queue.length < this.#options.maxQueue / 2) this.#unpark(lane);
      const batch = lane.queue[0];
      if (batch === undefined) {
        await new Promise<void>((resolve) => (lane.wake = resolve));
        lane.wake = undefined;
        continue;
      }
      if (batch.status === 'resolved' && this.#splitByThread(lane, batch)) continue;
      if (this.#expire(lane, batch)) continue;
      const wait = lane.bucket.take();
      if (wait > 0) {
        await this.#sleep(wait);
        continue;
      }
      await this.#attempt(lane, batch);
    }
  }

  #unpark(lane: Lane): void {
    const room = this.#options.maxQueue - lane.queue.length;
    lane.queue.push(...packBatches(lane.parked, room, this.#options.maxGroupSize, (alert) => this.#groupKey(alert)));
  }

  // A resolved digest can reply in one thread only; split it by the firing messages' refs.
  #splitByThread(lane: Lane, batch: Batch): boolean {
    const parts = splitByThread(batch);
    if (parts.length <= 1) return false;
    lane.queue.splice(0, 1, ...parts);
    return true;
  }

  // Outbox entries past their TTL go to the dead-letter file instead of being sent late.
  #expire(lane: Lane, batch: Batch): boolean {
    const outbox = this.#outbox;
    const ttl = this.#options.outbox?.ttl;
    if (outbox === undefined || ttl === undefined) return false;
    const now = this.#options.now();
    const stale = batch.items.filter((i) => i.entryId !== undefined && now - (outbox.acceptedAt(i.entryId) ?? now) > ttl);
    if (stale.length === 0) return false;
    const error = new DeliveryError(`Not delivered to ${lane.channel.name} within the outbox TTL (${ttl} ms)`, { channel: lane.channel.name, retryable: false });
    const rest = batch.items.filter((i) => !stale.includes(i));
    this.#fail(lane, { ...batch, items: stale }, error, false, 'ttl');
    if (rest.length === 0) lane.queue.shift();
    else lane.queue.splice(0, 1, { ...batch, items: rest });
    return true;
  }

  async #attempt(lane: Lane, batch: Batch): Promise<void> {
    const name = lane.channel.name;
    const outbox = this.#outbox;
    const before = outbox === undefined ? 0 : Math.max(0, ...batch.items.map((i) => (i.entryId === undefined ? 0 : outbox.attempts(i.entryId, name))));
    batch.attempt = Math.max(batch.attempt, before) + 1;
    const attempt = batch.attempt;
    const notification = this.#notification(batch);
    const controller = new AbortController();
    const onHalt = (): void => controller.abort(new AbortedError('The Notifier stopped'));
    this.#halt.signal.addEventListener('abort', onHalt, { once: true });
    const timeout = setTimeout(() => controller.abort(new DeliveryError(`${name}: no answer within ${this.#options.sendTimeout} ms`, { channel: name, retryable: true })), this.#options.sendTimeout);
    if (!this.persistent) timeout.unref();
    let receipt: DeliveryReceipt | void;
    try {
      receipt = await raceSignal(lane.channel.send(notification, { signal: controller.signal, attempt }), controller.signal);
    } catch (thrown) {
      if (this.#halt.signal.aborted) return; // stopping: the batch stays queued (and in the outbox)
      const error = asDeliveryError(controller.signal.aborted ? controller.signal.reason : thrown, name);
      await this.#failedAttempt(lane, batch, notification, error);
      return;
    } finally {
      clearTimeout(timeout);
      this.#halt.signal.removeEventListener('abort', onHalt);
    }
    lane.queue.shift();
    lane.logged.clear();
    this.#sent++;
    const ref = receipt?.ref;
    for (const item of batch.items) {
      if (item.alert.status === 'firing' && ref !== undefined && item.seen !== undefined) item.seen.ref = ref;
      if (item.entryId !== undefined) outbox?.markDone(item.entryId, name, item.alert.status === 'firing' ? ref : undefined);
      this.#complete(item);
    }
    this.emitSafely('sent', { channel: name, notification, alerts: notification.alerts, attempt, receipt: receipt ?? undefined });
  }

  async #failedAttempt(lane: Lane, batch: Batch, notification: Notification, error: DeliveryError): Promise<void> {
    const name = lane.channel.name;
    const limit = this.#options.outbox?.maxAttempts ?? this.#options.retry.maxAttempts;
    if (this.#outbox !== undefined) for (const item of batch.items) if (item.entryId !== undefined) this.#outbox.markAttempt(item.entryId, name);
    if (!error.retryable || batch.attempt >= limit) {
      lane.queue.shift();
      this.#fail(lane, batch, error, !error.retryable, error.retryable ? 'max-attempts' : 'permanent', notification);
      return;
    }
    const { initialDelay, maxDelay, factor } = this.#options.retry;
    const ceiling = Math.min(maxDelay, initialDelay * factor ** (batch.attempt - 1));
    // Jitter (half fixed, half random) spreads the retries of many hosts hitting one peer;
    // a Retry-After is a floor.
    let delay = Math.round(ceiling / 2 + (this.#options.random() * ceiling) / 2);
    if (error.retryAfterMs !== undefined) {
      delay = Math.max(delay, error.retryAfterMs);
      lane.bucket.pause(error.retryAfterMs);
    }
    this.logger.warn(`Notifier: delivery to ${name} failed, retrying`, { channel: name, attempt: batch.attempt, delay, error: error.message });
    this.emitSafely('retry', { channel: name, alerts: notification.alerts, attempt: batch.attempt, error, delay });
    await this.#sleep(delay);
  }

  #fail(lane: Lane, batch: Batch, error: DeliveryError, permanent: boolean, why = 'stopped', notification = this.#notification(batch)): void {
    const name = lane.channel.name;
    this.#failed++;
    const logKey = `${error.status ?? ''}:${error.message}`;
    if (!lane.logged.has(logKey)) {
      if (lane.logged.size > 100) lane.logged.clear();
      lane.logged.add(logKey);
      this.logger.error(`Notifier: could not deliver to ${name}: ${error.message}`, { channel: name, permanent, attempts: batch.attempt, alerts: batch.items.length, reason: why });
    }
    for (const item of batch.items) {
      // Never delivered, so not announced: the next firing of this key tries again.
      if (item.alert.status === 'firing') this.#dedup.forget(item.alert.key, name, item.seen);
      if (item.entryId !== undefined && this.#outbox !== undefined) {
        void this.#outbox.deadLetter(item.entryId, name, `${why}: ${error.message}`, this.#options.now()).catch((e: unknown) => this.emitError(toError(e)));
      }
      this.#complete(item);
    }
    this.emitSafely('failed', { channel: name, notification, alerts: notification.alerts, error, permanent, attempt: batch.attempt });
  }

  #notification(batch: Batch): Notification {
    const alerts = batch.items.map((i) => i.alert);
    const ref = batch.status === 'resolved' ? batch.items[0]?.seen?.ref : undefined;
    return ref === undefined ? { status: batch.status, alerts, groupKey: batch.groupKey } : { status: batch.status, alerts, groupKey: batch.groupKey, threadRef: ref };
  }

  #complete(item: Item): void {
    this.#pending--;
    this.#settle.settle(item.seq);
  }

  #sleep(ms: number): Promise<void> {
    const halt = this.#halt.signal;
    if (halt.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        cancel();
        halt.removeEventListener('abort', done);
        resolve();
      };
      const cancel = this.setTimer(done, ms);
      halt.addEventListener('abort', done, { once: true });
    });
  }
}
