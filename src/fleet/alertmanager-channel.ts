import type { Alert } from '../core/alert.js';
import { MAX_DELAY_MS, schedule, systemClock, type Clock } from '../core/clock.js';
import { InvalidOptionError } from '../core/errors.js';
import { clockOption, durationOption, rejectUnknownKeys } from '../core/options.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { toError } from '../core/lifecycle.js';
import type { Severity } from '../core/severity.js';
import { expectArray, expectBoolean, expectLogger, expectNumber, expectSeverity, expectString } from '../core/validate.js';
import type { Channel, Notification, RateLimit, SendContext } from '../notifier/channel.js';
import { alertmanagerAnnotations, alertmanagerLabels, labelSetKey, type PostableAlert } from './postable-alert.js';
import { postToAll, type AlertmanagerTarget } from './alertmanager-post.js';

/** Options of {@link AlertmanagerChannel}. */
export interface AlertmanagerChannelOptions {
  /**
   * Base URLs of the Alertmanager instances, e.g. `http://alertmanager-1:9093`. Give every
   * member of an HA cluster: Alertmanager does not gossip alerts between its peers, so each
   * must receive them. A path prefix (`--web.route-prefix`) is kept. Credentials in the URL
   * (`https://user:pass@…`) are sent as Basic authentication and never appear in errors.
   */
  readonly urls: readonly (string | URL)[] | string | URL;
  /**
   * The channel's name in the Notifier's events, metrics and outbox.
   * @defaultValue `'alertmanager'`
   */
  readonly name?: string;
  /**
   * Alerts below this severity are not sent. Alertmanager routes by the `severity`
   * label itself, so the default sends everything.
   * @defaultValue `'info'`
   */
  readonly minSeverity?: Severity;
  /**
   * How often, in ms, every alert still firing is re-posted (from `open()` until
   * `close()`), with ±10 % jitter so hosts restarted together spread out. Firing alerts are posted with `endsAt` set to four intervals ahead, as
   * Prometheus does: if this host stops re-posting (it died, or the process ended),
   * Alertmanager resolves its alerts by itself after that time, whatever its
   * `resolve_timeout`.
   * @defaultValue `60_000`
   */
  readonly resendInterval?: number;
  /**
   * Time limit of one HTTP request, in ms.
   * @defaultValue `10_000`
   */
  readonly timeout?: number;
  /**
   * The `generatorURL` of each alert: a fixed URL (a runbook, this host's dashboard) or
   * a function of the alert. Omitted when not given.
   */
  readonly generatorURL?: string | URL | ((alert: Alert) => string | undefined);
  /**
   * Extra HTTP headers for every request, e.g. `{ authorization: 'Bearer …' }` for an
   * Alertmanager behind an authenticating proxy. Their values never appear in errors or logs.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The most firing alerts remembered for re-sending. Past it the oldest is forgotten
   * (and expires in Alertmanager after its `endsAt`), so an attack producing endless
   * distinct alerts cannot grow memory without bound.
   * @defaultValue `10_000`
   */
  readonly maxAlerts?: number;
  /**
   * How long, in ms, a firing alert is re-posted without hearing of it again. Sources
   * resolve conditions (CPU back to normal) but some alerts are events that nobody
   * resolves (a file found, an attack seen); with a limit such an alert expires in
   * Alertmanager this long after the last time it fired. Each new firing of the same
   * alert starts the time again.
   * @defaultValue `Infinity` (re-post until resolved)
   */
  readonly maxFiringAge?: number;
  /**
   * How long, in ms, a resolved alert keeps being re-posted with its `endsAt`, so an
   * Alertmanager that missed the resolve (down, or another HA member) still learns it.
   * @defaultValue `900_000` (15 minutes, as Prometheus)
   */
  readonly resolvedRetention?: number;
  /**
   * Keep the process alive with the re-send timer. By default it is `unref()`ed.
   * @defaultValue `false`
   */
  readonly persistent?: boolean;
  /**
   * Where re-send failures are reported (first-time deliveries report through the
   * Notifier's `'failed'` event instead).
   * @defaultValue a silent logger
   */
  readonly logger?: Logger;
  /**
   * The `fetch` implementation, e.g. undici's with a custom dispatcher (TLS client
   * certificates, a proxy).
   * @defaultValue `globalThis.fetch`
   */
  readonly fetch?: typeof globalThis.fetch;
  /**
   * The clock, in ms since the epoch (`startsAt`/`endsAt`, expiry); the re-send timer
   * runs on core's timer seam, so tests drive both with mock timers.
   * @defaultValue `systemClock`
   */
  readonly clock?: Clock;
}

/** What {@link AlertmanagerChannel.stats} reports. */
export interface AlertmanagerChannelStats {
  /** Firing alerts remembered and re-posted on each tick. */
  readonly firing: number;
  /** Resolved alerts still re-posted with their `endsAt`. */
  readonly resolved: number;
  /** Re-send rounds completed (at least one Alertmanager accepted every batch). */
  readonly resends: number;
  /** Re-send rounds in which no Alertmanager accepted a batch. */
  readonly resendFailures: number;
}

interface ResolvedOptions {
  readonly name: string;
  readonly minSeverity: Severity;
  readonly targets: readonly AlertmanagerTarget[];
  readonly resendInterval: number;
  readonly timeout: number;
  readonly generatorURL: ((alert: Alert) => string | undefined) | undefined;
  readonly maxAlerts: number;
  readonly resolvedRetention: number;
  readonly maxFiringAge: number;
  readonly persistent: boolean;
  readonly logger: Logger;
  readonly fetch: typeof globalThis.fetch;
  readonly clock: Clock;
}

interface Tracked {
  readonly labels: Readonly<Record<string, string>>;
  readonly labelKey: string;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: number;
  readonly generatorURL: string | undefined;
  /** For resolved entries: when it ended; for firing ones: undefined. */
  readonly endsAt: number | undefined;
  /** When the entry stops being re-posted (firing: `maxFiringAge` after its last firing). */
  readonly forgetAt: number;
}

// Alertmanager has no documented body limit, but one huge request per tick would be
// one huge failure; batches keep a partial outage partial.
const BATCH = 500;

/**
 * A Notifier channel that hands alerts to Prometheus Alertmanager (`POST /api/v2/alerts`),
 * so Alertmanager's own dedup, grouping, silences, inhibition and routing apply across a
 * fleet of hosts.
 *
 * Each alert becomes a postable alert whose labels are the alert's `labels` plus
 * `alertname` (the rule), `severity`, `instance` (the hostname) and `source`; its
 * `title`, `summary` and `evidence` become annotations; `startsAt` is the firing's time,
 * and a resolved notice posts `endsAt` = the time it resolved.
 *
 * Alertmanager forgets a firing alert that is not re-posted before its `endsAt`, so the
 * channel remembers what is still firing and re-posts it every `resendInterval` from
 * `open()` (called by `Notifier.start()`) until `close()`. With several URLs it posts to
 * each and succeeds when any accepts; when none does it throws a {@link DeliveryError},
 * retryable unless every Alertmanager answered with a permanent 4xx, and the Notifier's
 * retries and outbox take over.
 *
 * @example
 * const notifier = new Notifier({
 *   channels: [
 *     new AlertmanagerChannel({ urls: ['http://alertmanager-1:9093', 'http://alertmanager-2:9093'] }),
 *   ],
 * });
 * await notifier.start();
 */
export class AlertmanagerChannel implements Channel {
  /** The channel's name. */
  readonly name: string;
  /** Alerts below this severity are not sent. */
  readonly minSeverity: Severity;
  /**
   * Alertmanager batches, groups and throttles by itself, so the Notifier's chat-sized
   * default (1 message/s) would only delay alerts: allow bursts of postings.
   */
  readonly rateLimit: RateLimit = { perSecond: 50, burst: 100 };
  readonly #options: ResolvedOptions;
  /** By hostwarden alert key: the last label set sent firing for it. */
  readonly #firing = new Map<string, Tracked>();
  /** By label set: resolved alerts still re-posted. */
  readonly #resolved = new Map<string, Tracked>();
  /** By alert key: when its last resolve happened, to drop firing retries older than it. */
  readonly #resolvedKeys = new Map<string, { readonly time: number; readonly forgetAt: number }>();
  #cancelTimer: (() => void) | undefined;
  #closing: AbortController | undefined;
  #resending: Promise<void> | undefined;
  #resends = 0;
  #resendFailures = 0;
  #evictionWarned = false;

  constructor(options: AlertmanagerChannelOptions) {
    this.#options = resolveOptions(options);
    this.name = this.#options.name;
    this.minSeverity = this.#options.minSeverity;
  }

  /** Counts of what the channel remembers and how re-sending went. */
  get stats(): AlertmanagerChannelStats {
    return {
      firing: this.#firing.size,
      resolved: this.#resolved.size,
      resends: this.#resends,
      resendFailures: this.#resendFailures,
    };
  }

  /** Starts re-posting firing alerts every `resendInterval`; called by `Notifier.start()`. */
  async open(): Promise<void> {
    if (this.#closing && !this.#closing.signal.aborted) return;
    const closing = new AbortController();
    this.#closing = closing;
    const next = (): void => {
      // ±10 % jitter: a fleet restarted by one deploy must not re-post in lockstep and
      // hit Alertmanager with every host's alerts in the same second, every minute.
      const delay = this.#options.resendInterval * (0.9 + Math.random() * 0.2);
      this.#cancelTimer = schedule(
        () => {
          void this.resend().finally(() => {
            if (!closing.signal.aborted) next();
          });
        },
        delay,
        { persistent: this.#options.persistent },
      );
    };
    next();
  }

  /**
   * Stops re-posting and aborts a re-send in flight; called by `Notifier.stop()`. The
   * alerts stay firing in Alertmanager until their `endsAt`, which is how a host that
   * went away shows up there.
   */
  async close(): Promise<void> {
    const closing = this.#closing;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    closing?.abort();
    await this.#resending;
    if (this.#closing === closing) this.#closing = undefined;
  }

  /**
   * Posts the notification's alerts to every Alertmanager; resolves when at least one
   * accepted them.
   *
   * @throws {@link DeliveryError} when none accepted (retryable unless all answered 4xx).
   */
  async send(notification: Notification, context: SendContext): Promise<void> {
    const now = this.#options.clock();
    const validUntil = now + 4 * this.#options.resendInterval;
    const posts: PostableAlert[] = [];
    const fired: [string, Tracked][] = [];
    const ended: Tracked[] = [];

    for (const alert of notification.alerts) {
      const labels = alertmanagerLabels(alert);
      const labelKey = labelSetKey(labels);
      const previous = this.#firing.get(alert.key);
      const time = timeOf(alert, now);
      if (alert.status === 'firing' && time < (this.#resolvedKeys.get(alert.key)?.time ?? -Infinity)) {
        // A firing the Notifier kept retrying while its resolve went through: posting it
        // now would bring a finished alert back to life.
        continue;
      }
      const generatorURL = this.#generatorURL(alert);
      if (alert.status === 'firing') {
        const startsAt = previous?.labelKey === labelKey ? Math.min(previous.startsAt, time) : time;
        const entry: Tracked = {
          labels,
          labelKey,
          annotations: alertmanagerAnnotations(alert),
          startsAt,
          generatorURL,
          endsAt: undefined,
          forgetAt: now + this.#options.maxFiringAge,
        };
        posts.push(toPostable(entry, validUntil));
        fired.push([alert.key, entry]);
        // Same key, new label set (say the severity escalated): Alertmanager sees a
        // different alert, so end the old one instead of letting it linger until endsAt.
        if (previous && previous.labelKey !== labelKey) {
          const old = { ...previous, endsAt: now, forgetAt: now + this.#options.resolvedRetention };
          posts.push(toPostable(old, now));
          ended.push(old);
        }
      } else {
        // Stop re-firing at once, whatever the outcome: if this resolve never gets
        // through, the alert still expires in Alertmanager at its last endsAt.
        if (previous) this.#firing.delete(alert.key);
        this.#resolvedKeys.delete(alert.key);
        this.#resolvedKeys.set(alert.key, { time, forgetAt: now + this.#options.resolvedRetention });
        const base = previous ?? { labels, labelKey, annotations: alertmanagerAnnotations(alert), startsAt: time, generatorURL };
        const entry: Tracked = {
          ...base,
          annotations: alertmanagerAnnotations(alert),
          // Never in the future: Alertmanager keeps a firing alert's later endsAt over a
          // resolve that has not ended yet by its clock.
          endsAt: Math.max(Math.min(time, now), base.startsAt),
          forgetAt: now + this.#options.resolvedRetention,
        };
        posts.push(toPostable(entry, entry.endsAt ?? now));
        ended.push(entry);
      }
    }

    if (posts.length === 0) return;
    await postToAll(this.#options.targets, posts, {
      channel: this.name,
      signal: context.signal,
      timeout: this.#options.timeout,
      fetch: this.#options.fetch,
      clock: this.#options.clock,
    });

    // Remembered only once some Alertmanager accepted: an alert it rejects as invalid
    // must not be re-posted forever; the Notifier decides about retrying the rest.
    for (const [key, entry] of fired) this.#remember(key, entry);
    for (const entry of ended) {
      this.#resolved.delete(entry.labelKey);
      this.#resolved.set(entry.labelKey, entry);
    }
    this.#prune(now);
  }

  /**
   * Re-posts every firing alert (with a fresh `endsAt`) and every recently resolved one
   * to every Alertmanager now. The timer started by `open()` calls it; call it yourself
   * after you know an Alertmanager restarted. Never throws: failures go to the logger
   * and {@link AlertmanagerChannel.stats}.
   */
  resend(): Promise<void> {
    // One round at a time: a slow Alertmanager must not pile up concurrent rounds.
    this.#resending ??= this.#resendRound().finally(() => {
      this.#resending = undefined;
    });
    return this.#resending;
  }

  async #resendRound(): Promise<void> {
    const now = this.#options.clock();
    this.#prune(now);
    const validUntil = now + 4 * this.#options.resendInterval;
    const posts = [
      ...[...this.#firing.values()].map((entry) => toPostable(entry, validUntil)),
      ...[...this.#resolved.values()].map((entry) => toPostable(entry, entry.endsAt ?? now)),
    ];
    if (posts.length === 0) return;
    const signal = this.#closing?.signal;
    let failed = false;
    for (let i = 0; i < posts.length && !signal?.aborted; i += BATCH) {
      try {
        await postToAll(this.#options.targets, posts.slice(i, i + BATCH), {
          channel: this.name,
          signal,
          timeout: this.#options.timeout,
          fetch: this.#options.fetch,
          clock: this.#options.clock,
        });
      } catch (error) {
        if (signal?.aborted) return;
        failed = true;
        this.#options.logger.warn(`${this.name}: re-sending ${posts.length} alerts failed`, { error: toError(error).message });
      }
    }
    if (signal?.aborted) return;
    if (failed) this.#resendFailures++;
    else this.#resends++;
  }

  #remember(key: string, entry: Tracked): void {
    this.#firing.delete(key);
    this.#firing.set(key, entry);
    // The same label set may have been resolved moments ago and is firing again.
    this.#resolved.delete(entry.labelKey);
    while (this.#firing.size > this.#options.maxAlerts) {
      const oldest = this.#firing.keys().next().value as string;
      this.#firing.delete(oldest);
      if (!this.#evictionWarned) {
        this.#evictionWarned = true;
        this.#options.logger.warn(`${this.name}: more than ${this.#options.maxAlerts} alerts firing; the oldest are no longer re-sent and will expire in Alertmanager`);
      }
    }
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#firing) if (entry.forgetAt <= now) this.#firing.delete(key);
    for (const [key, entry] of this.#resolved) if (entry.forgetAt <= now) this.#resolved.delete(key);
    for (const [key, entry] of this.#resolvedKeys) if (entry.forgetAt <= now) this.#resolvedKeys.delete(key);
    while (this.#resolvedKeys.size > this.#options.maxAlerts) this.#resolvedKeys.delete(this.#resolvedKeys.keys().next().value as string);
    while (this.#resolved.size > this.#options.maxAlerts) this.#resolved.delete(this.#resolved.keys().next().value as string);
  }

  #generatorURL(alert: Alert): string | undefined {
    const make = this.#options.generatorURL;
    if (!make) return undefined;
    try {
      const url = make(alert);
      // Alertmanager rejects a generatorURL that is not an absolute URI: drop a bad one
      // rather than lose the alert.
      return url !== undefined && URL.canParse(url) ? url : undefined;
    } catch (error) {
      this.#options.logger.warn(`${this.name}: generatorURL threw; sending the alert without it`, { error: toError(error).message });
      return undefined;
    }
  }
}

// Alerts revived from an outbox or built by JavaScript callers may carry the time as a
// string or number; an unreadable one counts as now rather than failing the delivery.
function timeOf(alert: Alert, now: number): number {
  const raw: unknown = alert.time;
  const ms = raw instanceof Date ? raw.getTime() : typeof raw === 'string' || typeof raw === 'number' ? new Date(raw).getTime() : Number.NaN;
  return Number.isFinite(ms) ? ms : now;
}

function toPostable(entry: Tracked, endsAt: number): PostableAlert {
  const postable: PostableAlert = {
    labels: entry.labels,
    annotations: entry.annotations,
    startsAt: new Date(entry.startsAt).toISOString(),
    // Alertmanager refuses an alert that ends before it starts (clock skew, a log
    // line's own timestamp from the future).
    endsAt: new Date(Math.max(endsAt, entry.startsAt)).toISOString(),
  };
  return entry.generatorURL === undefined ? postable : { ...postable, generatorURL: entry.generatorURL };
}

function resolveOptions(options: AlertmanagerChannelOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('AlertmanagerChannel', options, [
    'urls',
    'name',
    'minSeverity',
    'resendInterval',
    'timeout',
    'generatorURL',
    'headers',
    'maxAlerts',
    'maxFiringAge',
    'resolvedRetention',
    'persistent',
    'logger',
    'fetch',
    'clock',
  ]);
  const rawUrls = typeof options.urls === 'string' || options.urls instanceof URL ? [options.urls] : options.urls;
  const urls = expectArray('urls', rawUrls, { nonEmpty: true });
  const targets = urls.map((url, i) => toTarget(`urls[${i}]`, url));
  // Firing alerts are posted valid for four intervals, and endsAt must stay a real date.
  const resendInterval = durationOption('resendInterval', options.resendInterval ?? 60_000, { min: 10, max: Math.floor(MAX_DELAY_MS / 4) });
  const generatorURL = options.generatorURL;
  let makeGeneratorURL: ((alert: Alert) => string | undefined) | undefined;
  if (typeof generatorURL === 'function') makeGeneratorURL = generatorURL;
  else if (generatorURL !== undefined) {
    const fixed = String(generatorURL);
    if (!URL.canParse(fixed)) throw new InvalidOptionError('generatorURL', generatorURL, 'an absolute URL or a function');
    makeGeneratorURL = () => fixed;
  }
  const headers = options.headers ?? {};
  if (typeof headers !== 'object' || headers === null || Object.values(headers).some((v) => typeof v !== 'string')) {
    throw new InvalidOptionError('headers', headers, 'an object of string header values');
  }
  try {
    // Catches a header fetch would refuse on every request (a newline, a non-Latin-1 byte).
    new Headers(headers);
  } catch {
    // No cause: fetch's message quotes the value, which may be a token.
    throw new InvalidOptionError('headers', headers, 'valid HTTP header names and values');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new InvalidOptionError('fetch', fetchImpl, 'a fetch function');
  const clock = options.clock === undefined ? systemClock : clockOption('clock', options.clock);
  return Object.freeze({
    name: expectString('name', options.name ?? 'alertmanager'),
    minSeverity: expectSeverity('minSeverity', options.minSeverity ?? 'info'),
    targets: Object.freeze(targets.map((t) => Object.freeze({ ...t, headers: { ...headers, ...t.headers } }))),
    resendInterval,
    timeout: durationOption('timeout', options.timeout ?? 10_000, { min: 1 }),
    generatorURL: makeGeneratorURL,
    maxAlerts: expectNumber('maxAlerts', options.maxAlerts ?? 10_000, { min: 1, integer: true }),
    resolvedRetention: durationOption('resolvedRetention', options.resolvedRetention ?? 900_000, { max: Number.MAX_SAFE_INTEGER }),
    maxFiringAge: options.maxFiringAge === undefined || options.maxFiringAge === Infinity ? Infinity : expectNumber('maxFiringAge', options.maxFiringAge, { min: 1 }),
    persistent: expectBoolean('persistent', options.persistent ?? false),
    logger: expectLogger('logger', options.logger ?? silentLogger),
    fetch: fetchImpl,
    clock,
  });
}

function toTarget(option: string, value: unknown): AlertmanagerTarget {
  let url: URL;
  try {
    if (typeof value !== 'string' && !(value instanceof URL)) throw new TypeError('not a URL');
    url = new URL(String(value));
  } catch {
    // describeValue would print the string, and a URL may carry a password.
    throw new InvalidOptionError(option, typeof value === 'string' ? redactUrlText(value) : value, 'an http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError(option, redactUrlText(url.href), 'an http(s) URL');
  }
  const headers: Record<string, string> = {};
  if (url.username || url.password) {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers['authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  const endpoint = new URL(url.href);
  endpoint.username = '';
  endpoint.password = '';
  endpoint.hash = '';
  endpoint.pathname = `${endpoint.pathname.replace(/\/+$/, '')}/api/v2/alerts`;
  // What errors and logs show: no credentials, no query (it may hold a token).
  const display = `${endpoint.protocol}//${endpoint.host}${endpoint.pathname}`;
  return { endpoint: endpoint.href, display, headers };
}

function redactUrlText(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@');
}
