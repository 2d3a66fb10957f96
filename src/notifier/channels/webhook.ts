import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Alert } from '../../core/alert.js';
import { DeliveryError, InvalidOptionError } from '../../core/errors.js';
import type { Severity } from '../../core/severity.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { clockOption, durationOption, rejectUnknownKeys } from '../../core/options.js';
import { expectSeverity, expectString } from '../../core/validate.js';
import type { Channel, DeliveryReceipt, Notification, RateLimit, SendContext } from '../channel.js';
import { httpPost } from '../http-post.js';
import { redactText, sanitizeError } from '../redact.js';

/** Options of {@link WebhookChannel}. */
export interface WebhookChannelOptions {
  /** Where to POST (http or https). Credentials in it are redacted from errors. */
  readonly url: string;
  /**
   * Shared secret for the HMAC-SHA256 signature header; without it nothing is signed.
   * Never logged nor put in an error.
   */
  readonly secret?: string;
  /** Extra request headers (e.g. an `Authorization` header; its value is redacted from errors). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Alerts below this severity are not posted.
   * @defaultValue `'info'`
   */
  readonly minSeverity?: Severity;
  /**
   * The channel's name in events, metrics and the outbox.
   * @defaultValue `'webhook'`
   */
  readonly name?: string;
  /**
   * Request timeout, in ms.
   * @defaultValue `10_000`
   */
  readonly timeout?: number;
  /**
   * Requests per second.
   * @defaultValue `{ perSecond: 5, burst: 10 }`
   */
  readonly rateLimit?: RateLimit;
  /**
   * The `fetch` to use (a proxy-aware one, or a test double).
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof fetch;
  /**
   * The clock for the signature timestamp and HTTP-date `Retry-After`, ms since the epoch.
   * @defaultValue `systemClock`
   */
  readonly clock?: Clock;
}

/** An {@link Alert} as JSON: the same fields, `time` as an ISO 8601 string. */
export interface WebhookAlert extends Omit<Alert, 'time'> {
  /** When the condition was observed, ISO 8601. */
  time: string;
}

/** The JSON body a {@link WebhookChannel} posts. */
export interface WebhookPayload {
  /** Payload format version. */
  readonly version: 1;
  /** `firing` or `resolved`. */
  readonly status: 'firing' | 'resolved';
  /** What the alerts were grouped by. */
  readonly groupKey: string;
  /** The alerts, `time` as an ISO string. */
  readonly alerts: readonly WebhookAlert[];
}

/** Name of the signature header: `sha256=<hex>` over `` `${timestamp}.${body}` ``. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-hostwarden-signature';
/** Name of the timestamp header (Unix seconds) that the signature covers, against replays. */
export const WEBHOOK_TIMESTAMP_HEADER = 'x-hostwarden-timestamp';

/**
 * The signature value for a body: `sha256=` + hex HMAC-SHA256 of `` `${timestamp}.${body}` ``.
 *
 * @example
 * signWebhook(secret, body, Math.floor(Date.now() / 1000));
 */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Input of {@link verifyWebhookSignature}. */
export interface VerifyWebhookOptions {
  /** The shared secret. */
  readonly secret: string;
  /** The raw request body, exactly as received. */
  readonly body: string;
  /** The `x-hostwarden-signature` header. */
  readonly signature: string | undefined;
  /** The `x-hostwarden-timestamp` header. */
  readonly timestamp: string | undefined;
  /**
   * How far the timestamp may be from now, in ms.
   * @defaultValue `300_000` (5 min)
   */
  readonly tolerance?: number;
  /**
   * The receiver's clock, in ms since the epoch.
   * @defaultValue `systemClock`
   */
  readonly clock?: Clock;
}

/**
 * For receivers: whether a request carries a valid, fresh signature (constant-time compare).
 *
 * @example
 * const ok = verifyWebhookSignature({ secret, body, signature: req.headers['x-hostwarden-signature'], timestamp: req.headers['x-hostwarden-timestamp'] });
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const { secret, body, signature, timestamp } = options;
  if (signature === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs((options.clock ?? systemClock)() - ts * 1000) > (options.tolerance ?? 300_000)) return false;
  const expected = Buffer.from(signWebhook(secret, body, ts));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * POSTs alerts as JSON ({@link WebhookPayload}) to a URL, optionally signed with
 * HMAC-SHA256 over the timestamp and the raw body. 2xx is success; 408, 429 (with
 * Retry-After) and 5xx are retried; other 4xx are permanent.
 *
 * @example
 * new WebhookChannel({ url: 'https://hooks.example.com/hostwarden', secret: process.env.HOOK_SECRET });
 */
export class WebhookChannel implements Channel {
  /** The channel's name in events and the outbox. */
  readonly name: string;
  /** Alerts below this severity are not posted. */
  readonly minSeverity: Severity;
  /** Requests per second. */
  readonly rateLimit: RateLimit;
  readonly #url: URL;
  readonly #secret: string | undefined;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #timeout: number;
  readonly #clock: Clock;
  readonly #fetch: typeof fetch;
  readonly #secrets: readonly string[];

  /** @throws {@link InvalidOptionError} naming the first invalid option. */
  constructor(options: WebhookChannelOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('WebhookChannel', options, ['url', 'secret', 'headers', 'minSeverity', 'name', 'timeout', 'rateLimit', 'fetch', 'clock']);
    let url: URL;
    try {
      url = new URL(expectString('url', options?.url));
    } catch (error) {
      if (error instanceof InvalidOptionError) throw error;
      throw new InvalidOptionError('url', '[a malformed URL]', 'an http(s) URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidOptionError('url', url.protocol, 'an http(s) URL');
    this.#url = url;
    if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret.length === 0)) {
      throw new InvalidOptionError('secret', '[redacted]', 'a non-empty string');
    }
    this.#secret = options.secret;
    this.#headers = { ...options.headers };
    this.name = options.name === undefined ? 'webhook' : expectString('name', options.name);
    this.minSeverity = options.minSeverity === undefined ? 'info' : expectSeverity('minSeverity', options.minSeverity);
    this.rateLimit = options.rateLimit ?? { perSecond: 5, burst: 10 };
    this.#timeout = options.timeout === undefined ? 10_000 : durationOption('timeout', options.timeout, { min: 1 });
    this.#clock = options.clock === undefined ? systemClock : clockOption('clock', options.clock);
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#secrets = [
      options.secret,
      url.password,
      url.username && url.password ? `${url.username}:${url.password}` : undefined,
      url.search.length > 1 ? url.search.slice(1) : undefined,
      ...Object.values(this.#headers),
    ].filter((s): s is string => typeof s === 'string' && s.length > 0);
  }

  /** POSTs one notification. */
  async send(notification: Notification, context: SendContext): Promise<DeliveryReceipt> {
    const payload: WebhookPayload = {
      version: 1,
      status: notification.status,
      groupKey: notification.groupKey,
      alerts: notification.alerts.map((a) => ({ ...a, time: a.time.toISOString() })),
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { ...this.#headers, 'content-type': 'application/json', 'user-agent': 'hostwarden' };
    if (this.#secret !== undefined) {
      const timestamp = Math.floor(this.#clock() / 1000);
      headers[WEBHOOK_TIMESTAMP_HEADER] = String(timestamp);
      headers[WEBHOOK_SIGNATURE_HEADER] = signWebhook(this.#secret, body, timestamp);
    }
    const outcome = await httpPost({ url: this.#url, headers, body, timeout: this.#timeout, signal: context.signal, fetch: this.#fetch, clock: this.#clock });
    if (outcome.ok) return {};
    const message = `Webhook ${this.name} ${outcome.status === undefined || outcome.cause !== undefined ? 'request failed: ' : 'answered '}${redactText(outcome.reason, this.#secrets)}`;
    const options = {
      channel: this.name,
      retryable: outcome.retryable,
      ...(outcome.status === undefined ? {} : { status: outcome.status }),
      ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
      ...(outcome.cause === undefined ? {} : { cause: sanitizeError(outcome.cause, this.#secrets) }),
    };
    throw new DeliveryError(message, options);
  }
}
