import type { Alert } from '../core/alert.js';
import type { Severity } from '../core/severity.js';

/**
 * What the Notifier hands a channel in one delivery: a single alert, or a digest of
 * several alerts of the same rule that arrived within the group wait.
 */
export interface Notification {
  /** All alerts of one notification share a status. */
  readonly status: 'firing' | 'resolved';
  /** One alert, or several grouped into a digest; never empty. */
  readonly alerts: readonly Alert[];
  /** What the alerts were grouped by (by default the source and rule). */
  readonly groupKey: string;
  /**
   * For a resolved notice: the {@link DeliveryReceipt.ref} the channel returned when it
   * delivered the matching firing notice (e.g. a Slack message `ts`, to reply in its thread).
   */
  readonly threadRef?: string;
}

/** Per-attempt context passed to {@link Channel.send}. */
export interface SendContext {
  /** Aborted when the attempt times out or the Notifier stops; pass it to I/O calls. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt, 2 for the first retry… */
  readonly attempt: number;
}

/** What a channel may return after delivering. */
export interface DeliveryReceipt {
  /** A channel-specific reference to the delivered message (e.g. Slack `ts`), kept for threading. */
  readonly ref?: string;
}

/**
 * A message rate for a token bucket: up to `burst` messages at once, refilled at
 * `perSecond` messages per second.
 */
export interface RateLimit {
  /** Sustained messages per second (may be fractional: 0.2 is one every 5 s). */
  readonly perSecond: number;
  /**
   * Messages that may go out back to back after a quiet period.
   * @defaultValue `1`
   */
  readonly burst?: number;
}

/**
 * A place alerts go: Slack, e-mail, a webhook, a log, Alertmanager, or your own.
 * A channel only delivers; dedup, grouping, rate limits, retries and the outbox
 * belong to the Notifier.
 *
 * `send` resolves when the peer accepted the notification. On failure it throws a
 * `DeliveryError` whose `retryable` says whether trying again can help (429, 5xx,
 * timeouts and network errors are retryable; bad credentials and 4xx are not).
 * Error messages must never contain a token, password or secret.
 *
 * @example
 * const pager: Channel = {
 *   name: 'pager',
 *   minSeverity: 'critical',
 *   async send(notification, { signal }) {
 *     await fetch('http://127.0.0.1:9000/page', { method: 'POST', body: JSON.stringify(notification.alerts), signal });
 *   },
 * };
 */
export interface Channel {
  /** Unique among a Notifier's channels; appears in events, metrics and the outbox. */
  readonly name: string;
  /** Alerts below this severity are not sent to this channel. */
  readonly minSeverity: Severity;
  /**
   * How fast the peer accepts messages; the Notifier queues the rest. Overridden by the
   * Notifier's `rateLimits[name]`; when both are absent the Notifier's `rateLimit` applies.
   */
  readonly rateLimit?: RateLimit;
  /** Delivers one notification; throws a `DeliveryError` on failure. */
  send(notification: Notification, context: SendContext): Promise<DeliveryReceipt | void>;
  /** Called by `Notifier.start()` before the first delivery (e.g. to start a re-send timer). */
  open?(): Promise<void>;
  /** Releases connections and timers; called by `Notifier.stop()` after the last delivery. */
  close?(): Promise<void>;
}
