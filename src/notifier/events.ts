import type { Alert } from '../core/alert.js';
import type { HostwardenEvents } from '../core/emitter.js';
import type { DeliveryError } from '../core/errors.js';
import type { DeliveryReceipt, Notification } from './channel.js';

/** Payload of the Notifier's `'sent'` event. */
export interface SentEvent {
  /** The channel's name. */
  readonly channel: string;
  /** What was delivered (one alert or a digest). */
  readonly notification: Notification;
  /** The alerts delivered (same as `notification.alerts`). */
  readonly alerts: readonly Alert[];
  /** Which attempt succeeded (1 = first try). */
  readonly attempt: number;
  /** What the channel returned, e.g. a Slack message `ts` as `ref`. */
  readonly receipt: DeliveryReceipt | undefined;
}

/**
 * Why an alert was not sent to a channel:
 * - `duplicate`: already announced within `repeatInterval`, or a resolved notice for a
 *   key no channel was told about;
 * - `severity`: below the channel's `minSeverity`;
 * - `route`: the `route` predicate said no;
 * - `rate-limit`: the channel's queue was full (it is sending as fast as its rate limit allows).
 */
export type SuppressReason = 'duplicate' | 'severity' | 'route' | 'rate-limit';

/** Payload of the Notifier's `'suppressed'` event. */
export interface SuppressedEvent {
  /** The alert that was not sent. */
  readonly alert: Alert;
  /** Why not. */
  readonly reason: SuppressReason;
  /** The channel it was kept from; absent when it was kept from every channel. */
  readonly channel?: string;
}

/** Payload of the Notifier's `'retry'` event. */
export interface RetryEvent {
  /** The channel's name. */
  readonly channel: string;
  /** The alerts waiting for the next attempt. */
  readonly alerts: readonly Alert[];
  /** The attempt that just failed. */
  readonly attempt: number;
  /** Why it failed (secrets redacted). */
  readonly error: DeliveryError;
  /** How long until the next attempt, in ms (at least the peer's Retry-After). */
  readonly delay: number;
}

/** Payload of the Notifier's `'failed'` event. */
export interface FailedEvent {
  /** The channel's name. */
  readonly channel: string;
  /** What could not be delivered. */
  readonly notification: Notification;
  /** The alerts that were not delivered (same as `notification.alerts`). */
  readonly alerts: readonly Alert[];
  /** The last error (secrets redacted). */
  readonly error: DeliveryError;
  /**
   * True when retrying cannot help (bad token, unknown channel, 4xx, 5xx SMTP reply);
   * false when retries were exhausted, the outbox TTL passed, or `stop()` gave up.
   */
  readonly permanent: boolean;
  /** Attempts made. */
  readonly attempt: number;
}

/** Events of {@link Notifier}. */
export interface NotifierEvents extends HostwardenEvents {
  /** A notification reached a channel. */
  sent: [event: SentEvent];
  /** An alert was deliberately not sent to a channel (dedup, severity, route, full queue). */
  suppressed: [event: SuppressedEvent];
  /** An attempt failed with a retryable error; another follows after `delay`. */
  retry: [event: RetryEvent];
  /**
   * A notification was given up on: a permanent error, or retries exhausted. With an
   * outbox, its alerts are in the dead-letter file. Logged once at error level.
   */
  failed: [event: FailedEvent];
}
