import type { Alert } from '../core/alert.js';
import { AbortedError, DeliveryError, InvalidOptionError, IoError, ListenerError, StateError } from '../core/errors.js';
import { MAX_DELAY_MS, schedule } from '../core/clock.js';
import { formatDuration } from '../core/format.js';
import { Component, toError } from '../core/lifecycle.js';
import { createWarning } from '../core/warning.js';
import { isAtLeast } from '../core/severity.js';
import { expectNumber, expectSignal } from '../core/validate.js';
import type { Batch, Item } from './batch.js';
import type { Channel, DeliveryReceipt, Notification } from './channel.js';
import { DedupMemory, type ChannelSeen } from './dedup.js';
import { checkAlert } from './delivery.js';
import type { NotifierEvents, SuppressReason } from './events.js';
import { Lane, notificationOf, type GiveUpReason, type LaneHost } from './lane.js';
import { resolveNotifierOptions, type NotifierOptions, type ResolvedNotifierOptions } from './options.js';
import { Outbox, type OutboxEntry } from './outbox.js';
import { SettleTracker } from './settle.js';

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
  /** Set while the outbox cannot be written: alerts are delivered from memory only. */
  #notDurable: IoError | undefined;
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
    if (resolved.outbox !== undefined) {
      this.#outbox = new Outbox({
        directory: resolved.outbox.directory,
        compactAfter: resolved.outbox.compactAfter,
        logger: this.logger,
        snapshotSeen: () => this.#dedup.snapshot(),
      });
    }
    const host: LaneHost = {
      options: resolved,
      logger: this.logger,
      outbox: this.#outbox,
      persistent: this.persistent,
      halt: this.#halt.signal,
      timer: (callback, ms) => this.setTimer(callback, ms),
      holdingTimer: (callback, ms) => {
        const cancel = schedule(
          () => {
            release();
            try {
              callback();
            } catch (error) {
              this.emitError(toError(error));
            }
          },
          ms,
          { persistent: true },
        );
        // Cleared by stop() like the component's own timers.
        const release = this.onCleanup(cancel);
        return release;
      },
      groupKey: (alert) => this.#groupKey(alert),
      delivered: (channel, batch, notification, receipt) => this.#delivered(channel, batch, notification, receipt),
      retrying: (channel, notification, attempt, error, delay) => {
        this.#refreshLane(channel);
        this.emitSafely('retry', { channel, alerts: notification.alerts, attempt, error, delay });
      },
      gaveUp: (channel, batch, notification, error, reason) => this.#gaveUp(channel, batch, notification, error, reason),
      dropped: (channel, items) => {
        for (const item of items) {
          this.#suppress(item.alert, 'rate-limit', channel);
          if (item.alert.status === 'firing') this.#dedup.forget(item.alert.key, channel, item.seen);
          this.#complete(item);
        }
      },
    };
    this.#lanes = resolved.channels.map((channel) => new Lane(channel, host));
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
   * Refreshes the checks that depend on the time of asking: the outbox's depth and the
   * age of its oldest entry, and each channel's state.
   */
  protected override refreshHealth(): void {
    const outbox = this.#outbox;
    if (outbox !== undefined) {
      const oldest = outbox.oldestAcceptedAt;
      const age = oldest === undefined ? 0 : Math.max(0, this.#options.clock() - oldest);
      const depth = `${outbox.depth} owed${oldest === undefined ? '' : `, oldest ${formatDuration(age)} old`}`;
      if (this.#notDurable !== undefined) this.setHealthCheck('outbox', false, `not writable, delivering from memory (${this.#notDurable.message}); ${depth}`);
      else this.setHealthCheck('outbox', true, depth);
    }
    for (const lane of this.#lanes) this.#laneHealth(lane);
  }

  #laneHealth(lane: Lane): void {
    const name = `channel:${lane.channel.name}`;
    if (lane.failing) this.setHealthCheck(name, false, `deliveries failing, ${lane.backlog} waiting`);
    else this.setHealthCheck(name, true, `${lane.backlog} waiting`);
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
   * When the outbox cannot be written (a full or read-only disk), the alert is still
   * accepted and delivered from memory, and an `'error'` ({@link IoError}) says that
   * durability is lost until the outbox can be written again: whoever can fill the disk
   * must not be able to silence alerting.
   *
   * @throws {@link StateError} before `start()` or after `stop()`.
   * @throws {@link InvalidOptionError} when `alert` is not an Alert.
   */
  async notify(alert: Alert): Promise<void> {
    if (this.state === 'starting') await this.start();
    if (this.state !== 'running') throw new StateError(`Cannot notify: the Notifier is ${this.state}`);
    checkAlert(alert);
    const now = this.#options.clock();
    const targets: { lane: Lane; seen: ChannelSeen | undefined }[] = [];
    if (alert.status === 'firing') {
      for (const lane of this.#lanes) {
        const reason = this.#rejects(alert, lane.channel);
        if (reason !== undefined) this.#suppress(alert, reason, lane.channel.name);
        else if (!this.#dedup.announce(alert.key, lane.channel.name, alert.severity, now, alert.time.getTime())) this.#suppress(alert, 'duplicate', lane.channel.name);
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
      const refs = new Map<string, string>();
      if (alert.status === 'resolved') for (const t of targets) if (t.seen?.ref !== undefined) refs.set(t.lane.channel.name, t.seen.ref);
      try {
        entryId = await this.#outbox.append(
          alert,
          targets.map((t) => t.lane.channel.name),
          now,
          refs,
        );
        this.#durable();
      } catch (error) {
        if (!(error instanceof IoError)) throw error; // the outbox is closed: stopping
        this.#lostDurability(error);
      }
      if (this.stopping && entryId !== undefined) return; // accepted into the outbox; the next start delivers it
    }
    const seq = this.#settle.add(targets.length);
    for (const t of targets) this.#enqueue(t.lane, { alert, seq, entryId, seen: t.seen });
  }

  /**
   * Sends every open group now and resolves when everything accepted so far has been
   * delivered or given up on. Keeps the process alive while it waits.
   *
   * A channel that keeps failing is retried until its attempts or the outbox TTL run
   * out (up to a day with an outbox), so give a `timeout` or a `signal` when the caller
   * must go on: the promise then rejects with an {@link AbortedError} saying how many
   * deliveries are still pending; they stay queued (and in the outbox). `stop()` is
   * the bounded way out: it delivers for at most `stopTimeout` and keeps the rest in
   * the outbox for the next start.
   *
   * @throws {@link AbortedError} when `timeout` passes or `signal` aborts first.
   * @throws {@link InvalidOptionError} for a bad `timeout` or `signal`.
   */
  flush(options: FlushOptions = {}): Promise<void> {
    const { timeout, signal } = checkFlushOptions(options);
    const upTo = this.#settle.last;
    for (const lane of this.#lanes) lane.closeGroups();
    if (this.#settle.settledUpTo(upTo)) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(new AbortedError(`flush() was aborted with ${this.#pending} deliveries pending`, { cause: signal.reason }));
    return new Promise<void>((resolve, reject) => {
      // Unlike the component's timers, a pending flush holds the process open: a script's
      // final `await notifier.flush()` must deliver before the process exits.
      const keepAlive = schedule(() => {}, MAX_DELAY_MS, { persistent: true });
      let cancelTimeout = (): void => {};
      const finish = (error?: Error): void => {
        keepAlive();
        cancelTimeout();
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onAbort = (): void => finish(new AbortedError(`flush() was aborted with ${this.#pending} deliveries pending`, { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeout !== undefined) {
        cancelTimeout = schedule(
          () =>
            finish(
              new AbortedError(
                `flush() timed out after ${formatDuration(timeout)} with ${this.#pending} deliveries pending; they stay queued${this.#outbox === undefined ? '' : ' and in the outbox'}`,
              ),
            ),
          timeout,
        );
      }
      void this.#settle.wait(upTo).then(() => finish());
    });
  }

  protected override async onStart(): Promise<void> {
    if (this.#outbox !== undefined) {
      const { entries, seen } = await this.#outbox.open();
      this.#dedup.load(seen);
      this.#resume(entries);
    }
    for (const lane of this.#lanes) await lane.channel.open?.();
    for (const lane of this.#lanes) lane.start();
    for (const source of this.#sources) this.#subscribe(source);
    this.refreshHealth();
    const sweepEvery = Math.min(this.#options.stateTtl, 60_000) || 60_000;
    this.setRepeating(() => this.#dedup.sweep(this.#options.clock()), sweepEvery);
  }

  protected override async onStop(): Promise<void> {
    for (const detach of this.#detach.values()) detach();
    this.#detach.clear();
    await new Promise<void>((resolve) => {
      const cancel = this.setTimer(resolve, this.#options.stopTimeout);
      void this.flush().then(
        () => {
          cancel();
          resolve();
        },
        () => {},
      );
    });
    this.#halt.abort();
    await Promise.all(this.#lanes.map((lane) => lane.stopped()));
    let left = 0;
    for (const lane of this.#lanes) {
      const { parked, queued } = lane.drain();
      for (const item of parked) {
        left++;
        this.#complete(item);
      }
      for (const batch of queued) {
        left += batch.items.length;
        const inOutbox = batch.items.filter((i) => i.entryId !== undefined);
        const notOwed = batch.items.filter((i) => i.entryId === undefined);
        for (const item of inOutbox) this.#complete(item);
        if (notOwed.length > 0) {
          const name = lane.channel.name;
          const error = new DeliveryError(`Not delivered to ${name}: the Notifier stopped first`, { channel: name, retryable: true, cause: new AbortedError() });
          const rest = { ...batch, items: notOwed };
          lane.logGiveUp(error, rest, 'stopped');
          this.#gaveUp(name, rest, notificationOf(rest), error, 'stopped');
        }
      }
    }
    if (left > 0 && this.#outbox !== undefined) this.logger.warn('Notifier stopped with undelivered alerts; those in the outbox are delivered at the next start', { count: left });
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

  // The outbox could not take an alert: deliver it anyway and say, once per outage,
  // that what is in flight would not survive a restart.
  #lostDurability(error: IoError): void {
    if (this.#notDurable !== undefined) return;
    this.#notDurable = error;
    this.refreshHealth();
    this.emitError(
      new IoError(`The outbox cannot be written (${error.message}); alerts are delivered from memory and would be lost by a restart until it can`, {
        path: error.path ?? this.#options.outbox?.directory ?? '',
        syscall: 'write',
        cause: error.cause ?? error,
      }),
    );
  }

  #durable(): void {
    if (this.#notDurable === undefined) return;
    this.#notDurable = undefined;
    this.refreshHealth();
    this.logger.info('Notifier: the outbox can be written again; alerts are durable again');
  }

  #resume(entries: readonly OutboxEntry[]): void {
    const now = this.#options.clock();
    for (const entry of entries) {
      const lanes: Lane[] = [];
      for (const name of entry.channels.keys()) {
        const lane = this.#lanes.find((l) => l.channel.name === name);
        if (lane !== undefined) lanes.push(lane);
        else {
          this.emitWarning(
            createWarning('channel-gone', `An outbox entry is owed to channel ${name}, which is no longer configured; it goes to the dead-letter file`, {
              path: this.#outbox?.deadLetterPath ?? '',
            }),
          );
          void this.#outbox?.deadLetter(entry.id, name, 'channel no longer configured', now).catch((error: unknown) => this.emitError(toError(error)));
        }
      }
      if (lanes.length === 0) continue;
      const seq = this.#settle.add(lanes.length);
      for (const lane of lanes) {
        let seen: ChannelSeen | undefined;
        if (entry.alert.status === 'firing') {
          seen = this.#dedup.get(entry.alert.key, lane.channel.name);
          if (seen === undefined) {
            this.#dedup.announce(entry.alert.key, lane.channel.name, entry.alert.severity, now, entry.alert.time.getTime());
            seen = this.#dedup.get(entry.alert.key, lane.channel.name);
          }
        } else {
          // A resolved notice still owed: thread it under the firing message it answers.
          const ref = entry.refs?.get(lane.channel.name);
          seen = { at: entry.acceptedAt, observed: entry.alert.time.getTime(), severity: entry.alert.severity, ...(ref === undefined ? {} : { ref }) };
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
    lane.enqueue(item);
  }

  #refreshLane(channel: string): void {
    const lane = this.#lanes.find((l) => l.channel.name === channel);
    if (lane !== undefined && this.state === 'running') this.#laneHealth(lane);
  }

  #delivered(channel: string, batch: Batch, notification: Notification, receipt: DeliveryReceipt | undefined): void {
    this.#sent++;
    this.#refreshLane(channel);
    const ref = receipt?.ref;
    for (const item of batch.items) {
      if (item.alert.status === 'firing' && item.seen !== undefined) {
        if (ref !== undefined) item.seen.ref = ref;
        // Delivered by this run: from now on the repeat interval applies as to any other.
        delete item.seen.restored;
      }
      if (item.entryId !== undefined) this.#outbox?.markDone(item.entryId, channel, item.alert.status === 'firing' ? ref : undefined);
      this.#complete(item);
    }
    this.emitSafely('sent', { channel, notification, alerts: notification.alerts, attempt: batch.attempt, receipt });
  }

  #gaveUp(channel: string, batch: Batch, notification: Notification, error: DeliveryError, reason: GiveUpReason): void {
    this.#failed++;
    this.#refreshLane(channel);
    for (const item of batch.items) {
      // Never delivered, so not announced: the next firing of this key tries again.
      if (item.alert.status === 'firing') this.#dedup.forget(item.alert.key, channel, item.seen);
      if (item.entryId !== undefined && this.#outbox !== undefined) {
        void this.#outbox.deadLetter(item.entryId, channel, `${reason}: ${error.message}`, this.#options.clock()).catch((e: unknown) => this.emitError(toError(e)));
      }
      this.#complete(item);
    }
    this.emitSafely('failed', { channel, notification, alerts: notification.alerts, error, permanent: reason === 'permanent', attempt: batch.attempt });
  }

  #complete(item: Item): void {
    this.#pending--;
    this.#settle.settle(item.seq);
  }
}

/** Options of {@link Notifier.flush}. */
export interface FlushOptions {
  /**
   * Give up waiting after this many ms (the deliveries go on).
   * @defaultValue no limit
   */
  readonly timeout?: number;
  /** Give up waiting when aborted (the deliveries go on). */
  readonly signal?: AbortSignal;
}

function checkFlushOptions(options: FlushOptions): FlushOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object like { timeout, signal }');
  if (options.timeout !== undefined) expectNumber('timeout', options.timeout, { min: 0, max: MAX_DELAY_MS });
  if (options.signal !== undefined) expectSignal('signal', options.signal);
  return options;
}
