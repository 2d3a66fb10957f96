import type * as SlackWebApi from '@slack/web-api';
import type { Logger as SlackLogger, WebClient } from '@slack/web-api';
import type { Alert } from '../../core/alert.js';
import { DeliveryError, InvalidOptionError } from '../../core/errors.js';
import { lazyRequire } from '../../core/lazy-require.js';
import type { Severity } from '../../core/severity.js';
import { durationOption, rejectUnknownKeys } from '../../core/options.js';
import { expectNumber, expectSeverity, expectString } from '../../core/validate.js';
import type { Channel, DeliveryReceipt, Notification, RateLimit, SendContext } from '../channel.js';
import { escapeSlack, safeText, type SafeTextOptions } from '../../core/text.js';
import { bySeverity, headline, labelPairs, notificationSeverity, statusTag } from '../format.js';
import { capRetryAfter } from '../http-post.js';
import { redactText, sanitizeError } from '../redact.js';

// The Slack client is loaded by the first SlackChannel, not by importing hostwarden.
const loadSlack = lazyRequire<typeof SlackWebApi>('@slack/web-api');

/** Options of {@link SlackChannel}. */
export interface SlackChannelOptions {
  /** A bot token (`xoxb-…`) with `chat:write`. Never logged nor put in an error. */
  readonly token: string;
  /** Channel ID (`C0123…`) or name (`#ops`) to post to. */
  readonly channel: string;
  /**
   * Base URL of the Web API, ending in `/` (a test server, a proxy).
   * @defaultValue `'https://slack.com/api/'`
   */
  readonly slackApiUrl?: string;
  /**
   * Alerts below this severity are not posted.
   * @defaultValue `'info'`
   */
  readonly minSeverity?: Severity;
  /**
   * The channel's name in events, metrics and the outbox.
   * @defaultValue `'slack'`
   */
  readonly name?: string;
  /**
   * HTTP timeout of one `chat.postMessage` call, in ms.
   * @defaultValue `10_000`
   */
  readonly timeout?: number;
  /**
   * Messages per second to this Slack channel (Slack allows about one).
   * @defaultValue `{ perSecond: 1, burst: 3 }`
   */
  readonly rateLimit?: RateLimit;
  /**
   * Alerts shown in full in one digest message (the rest are counted).
   * @defaultValue `10`
   */
  readonly maxAlertsPerMessage?: number;
}

// Slack's documented Block Kit limits.
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_MAX = 10;
const BLOCKS_MAX = 50;
const TEXT_MAX = 3000;

const EMOJI: Readonly<Record<Severity, string>> = { critical: ':red_circle:', warning: ':large_orange_circle:', info: ':large_blue_circle:' };
const COLOR: Readonly<Record<Severity, string>> = { critical: '#d40e0d', warning: '#e8a317', info: '#2b7bb9' };

// Errors that retrying cannot fix: credentials, the channel, the payload.
const RETRYABLE_PLATFORM = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

// Slack's error codes are short snake_case words (`channel_not_found`, `invalid_auth`).
const SLACK_ERROR_CODE = /^[a-z][a-z0-9_]{0,99}$/;

/** A Block Kit block, as sent to `chat.postMessage`. */
export type SlackBlock = Record<string, unknown>;

/** The legacy attachment that carries the severity colour bar. */
export interface SlackAttachment {
  /** Hex colour of the bar: red, orange, blue by severity; green when resolved. */
  color: string;
  /** Plain-text fallback (same as the message text). */
  fallback: string;
  /** One escaped line beside the bar: severity, count, group. */
  text: string;
}

/** The `chat.postMessage` arguments {@link SlackChannel} builds (without the channel). */
export interface SlackMessage {
  /** Fallback text for notifications and clients without Block Kit; escaped. */
  readonly text: string;
  /** The Block Kit blocks (at most 50); every text escaped. */
  readonly blocks: SlackBlock[];
  /** Severity colour bar. */
  readonly attachments: SlackAttachment[];
  /** The firing message's `ts`, for a resolved notice. */
  readonly thread_ts?: string;
}

/**
 * Posts alerts to Slack with `chat.postMessage`: a Block Kit message (header, labels as
 * fields, evidence in a code block, severity colour and emoji) with a text fallback,
 * within Slack's limits. Resolved notices reply in the firing message's thread.
 * Every piece of alert text is escaped, so a log line containing `<!channel>` or
 * `<https://evil|click>` shows as text.
 *
 * The Web API client's own retry loop (about 30 minutes by default) is switched off:
 * a 429 is reported with its Retry-After and the Notifier retries.
 *
 * @example
 * new SlackChannel({ token: process.env.SLACK_BOT_TOKEN!, channel: 'C0123456789', minSeverity: 'warning' });
 */
export class SlackChannel implements Channel {
  /** The channel's name in events and the outbox. */
  readonly name: string;
  /** Alerts below this severity are not posted. */
  readonly minSeverity: Severity;
  /** Messages per second to this Slack channel. */
  readonly rateLimit: RateLimit;
  readonly #client: WebClient;
  readonly #channel: string;
  readonly #secrets: readonly string[];
  readonly #maxAlerts: number;

  /** @throws {@link InvalidOptionError} naming the first invalid option (never echoing the token). */
  constructor(options: SlackChannelOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('SlackChannel', options, ['token', 'channel', 'slackApiUrl', 'minSeverity', 'name', 'timeout', 'rateLimit', 'maxAlertsPerMessage']);
    // Only an empty or non-string token fails, so the error cannot echo a real secret.
    if (typeof options?.token !== 'string' || options.token.length === 0) throw new InvalidOptionError('token', options?.token, 'a non-empty string (a Slack bot token)');
    this.#channel = expectString('channel', options.channel);
    this.name = options.name === undefined ? 'slack' : expectString('name', options.name);
    this.minSeverity = options.minSeverity === undefined ? 'info' : expectSeverity('minSeverity', options.minSeverity);
    this.rateLimit = options.rateLimit ?? { perSecond: 1, burst: 3 };
    this.#maxAlerts = options.maxAlertsPerMessage === undefined ? 10 : expectNumber('maxAlertsPerMessage', options.maxAlertsPerMessage, { min: 1, max: 10, integer: true });
    const timeout = options.timeout === undefined ? 10_000 : durationOption('timeout', options.timeout, { min: 1 });
    let slackApiUrl: string | undefined;
    if (options.slackApiUrl !== undefined) {
      slackApiUrl = expectString('slackApiUrl', options.slackApiUrl);
      if (!slackApiUrl.endsWith('/')) slackApiUrl += '/';
    }
    this.#secrets = [options.token];
    const { WebClient, LogLevel } = loadSlack();
    this.#client = new WebClient(options.token, {
      ...(slackApiUrl === undefined ? {} : { slackApiUrl }),
      // The Notifier owns retries, backoff and rate limits; the client's defaults would
      // hold one message for ~30 minutes and stall every alert behind it.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout,
      logger: silentSlackLogger(LogLevel.ERROR),
      allowAbsoluteUrls: false,
    });
  }

  /** Posts one notification; the receipt's `ref` is the message `ts`. */
  async send(notification: Notification, context: SendContext): Promise<DeliveryReceipt> {
    const message = renderSlackMessage(notification, { maxAlerts: this.#maxAlerts });
    try {
      const result = await this.#client.chat.postMessage({
        channel: this.#channel,
        ...message,
        // Never let Slack turn plain words (`@channel`, URLs) into pings or previews.
        link_names: false,
        unfurl_links: false,
        unfurl_media: false,
        mrkdwn: true,
      });
      context.signal.throwIfAborted();
      return typeof result.ts === 'string' ? { ref: result.ts } : {};
    } catch (error) {
      throw this.#toDeliveryError(error);
    }
  }

  #toDeliveryError(error: unknown): DeliveryError {
    const cause = sanitizeError(error, this.#secrets);
    const base = { channel: this.name, cause };
    if (error instanceof DeliveryError) return error;
    const { WebAPIRateLimitedError, WebAPIPlatformError, WebAPIHTTPError, WebAPIRequestError } = loadSlack();
    if (error instanceof WebAPIRateLimitedError) {
      // Capped like every Retry-After: Slack (or a proxy) asking for days must not freeze the channel.
      const retryAfterMs = capRetryAfter(error.retryAfter * 1000);
      return new DeliveryError(`Slack rate-limited ${this.name}; retry after ${Math.round(retryAfterMs / 1000)} s`, { ...base, retryable: true, retryAfterMs, status: 429 });
    }
    if (error instanceof WebAPIPlatformError) {
      const raw: unknown = error.data.error;
      // The client reports a body it could not parse (a 200 cut short by a proxy) as a
      // platform error whose "code" is the raw text. That is not Slack refusing the
      // message: retry it (at worst Slack shows it twice) instead of dead-lettering it.
      if (typeof raw !== 'string' || !SLACK_ERROR_CODE.test(raw)) {
        return new DeliveryError(`Slack answered ${this.name} with an unreadable body (not Slack's JSON); retrying`, { ...base, retryable: true });
      }
      const code = raw;
      return new DeliveryError(`Slack refused the message to ${this.name}: ${code}`, { ...base, retryable: RETRYABLE_PLATFORM.has(code) });
    }
    if (error instanceof WebAPIHTTPError) {
      const retryable = error.statusCode >= 500 || error.statusCode === 408;
      return new DeliveryError(`Slack answered HTTP ${error.statusCode} for ${this.name}`, { ...base, retryable, status: error.statusCode });
    }
    if (error instanceof WebAPIRequestError) {
      const original = error.original as Error & { name?: string };
      const timedOut = original.name === 'TimeoutError' || original.name === 'AbortError';
      return new DeliveryError(`Slack request for ${this.name} failed: ${timedOut ? 'timed out' : redactText(describeNetworkError(original), this.#secrets)}`, {
        ...base,
        retryable: true,
      });
    }
    return new DeliveryError(`Slack delivery to ${this.name} failed: ${redactText(error instanceof Error ? error.message : String(error), this.#secrets)}`, {
      ...base,
      retryable: true,
    });
  }
}

function describeNetworkError(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

function silentSlackLogger(level: SlackWebApi.LogLevel): SlackLogger {
  const noop = (): void => {};
  return { debug: noop, info: noop, warn: noop, error: noop, setLevel: noop, getLevel: () => level, setName: noop };
}

/**
 * Renders a notification as `chat.postMessage` arguments: escaped, truncated, within
 * Block Kit's limits. Exposed so the message can be previewed or tested.
 *
 * @example
 * const { text, blocks } = renderSlackMessage({ status: 'firing', alerts: [alert], groupKey: 'log:sshd.brute-force' });
 */
export function renderSlackMessage(notification: Notification, options: { maxAlerts?: number } = {}): SlackMessage {
  const maxAlerts = options.maxAlerts ?? 10;
  const severity = notificationSeverity(notification);
  const icon = notification.status === 'resolved' ? ':white_check_mark:' : EMOJI[severity];
  const line = `${statusTag(notification)} ${headline(notification, 400)}`;
  const blocks: SlackBlock[] = [
    // plain_text is never parsed for mentions or links, and whether Slack decodes entities
    // there is not documented, so angle brackets become look-alikes instead of entities.
    {
      type: 'header',
      text: { type: 'plain_text', text: safeText(plainSafe(`${notification.status === 'resolved' ? '✅' : severityGlyph(severity)} ${line}`), { max: HEADER_MAX }), emoji: true },
    },
  ];
  const ordered = bySeverity(notification.alerts);
  const shown: Alert[] = [];
  // Each alert takes up to 4 blocks; keep 2 for the header and the "more" note.
  for (const alert of ordered.slice(0, maxAlerts)) {
    if (blocks.length + 4 > BLOCKS_MAX - 1) break;
    blocks.push(...alertBlocks(alert, notification.alerts.length > 1));
    shown.push(alert);
  }
  const rest = ordered.slice(shown.length);
  if (rest.length > 0) blocks.push({ type: 'section', text: mrkdwn(moreSection(rest)) });
  const text = escapeSlack(`${icon} ${line}`, { max: TEXT_MAX });
  const n = notification.alerts.length;
  const bar = escapeSlack(
    `${notification.status === 'resolved' ? 'resolved' : severity} · ${n} alert${n === 1 ? '' : 's'} · ${safeText(notification.groupKey, { singleLine: true })}`,
    { max: 500 },
  );
  const color = notification.status === 'resolved' ? '#2eb67d' : COLOR[severity];
  const message: SlackMessage = { text, blocks: blocks.slice(0, BLOCKS_MAX), attachments: [{ color, fallback: text, text: bar }] };
  return notification.threadRef === undefined ? message : { ...message, thread_ts: notification.threadRef };
}

// Names every alert not shown in full, most severe first, as many as fit in one
// section; then says how many more.
function moreSection(rest: readonly Alert[]): string {
  const head = `…and ${rest.length} more:`;
  let out = head;
  let named = 0;
  for (const alert of rest) {
    const line = `\n• ${escapeSlack(`${alert.severity} ${alert.title}`, { singleLine: true, max: 300 })}`;
    const left = rest.length - named - 1;
    if (out.length + line.length + (left > 0 ? ` (+${left} more)`.length + 1 : 0) > SECTION_MAX) break;
    out += line;
    named++;
  }
  return named < rest.length ? `${out}\n(+${rest.length - named} more)` : out;
}

function alertBlocks(alert: Alert, inDigest: boolean): SlackBlock[] {
  const blocks: SlackBlock[] = [];
  const title = inDigest ? `*${escapeSlack(alert.title, { singleLine: true, max: 500 })}*\n` : '';
  const summary = alert.summary === alert.title ? '' : alert.summary;
  const body = `${title}${escapeSlack(summary, { max: SECTION_MAX - 600 })}`.trim();
  if (body.length > 0) blocks.push({ type: 'section', text: mrkdwn(body) });
  const fields = labelPairs(alert)
    .slice(0, FIELDS_MAX)
    .map(([k, v]) => mrkdwn(escapeSlack(`*${safeText(k, { singleLine: true })}*\n${safeText(v, { singleLine: true })}`, { max: FIELD_MAX })));
  if (fields.length > 0) blocks.push({ type: 'section', fields });
  if (alert.evidence !== undefined && alert.evidence.length > 0) {
    const lines = alert.evidence.slice(0, 30).map((e) => safeText(e, { singleLine: true, max: 500 }));
    const code = codeBlockText(lines.join('\n'), { max: SECTION_MAX - 8 });
    blocks.push({ type: 'section', text: mrkdwn(`\`\`\`\n${code}\n\`\`\``) });
  }
  // The date token is ours (digits and an ISO string), so it is the one unescaped `<…>`.
  const date = `<!date^${Math.floor(alert.time.getTime() / 1000)}^{date_short_pretty} {time_secs}|${alert.time.toISOString()}>`;
  const context = escapeSlack(`${alert.severity} · ${safeText(alert.rule, { singleLine: true })} · ${safeText(alert.hostname, { singleLine: true })}`, { max: 2000 });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `${context} · ${date}` }] });
  return blocks;
}

// Inside a code block a run of backticks could close the block and turn the rest of the
// evidence into live mrkdwn: every backtick followed by another becomes a look-alike
// (U+02CB) before the usual escaping, so the length is unchanged and the cut stays exact.
function codeBlockText(text: string, options: SafeTextOptions): string {
  return escapeSlack(text.replace(/`(?=`)/g, '\u02cb'), options);
}

function plainSafe(text: string): string {
  return text.replace(/</g, '‹').replace(/>/g, '›');
}

// verbatim: Slack must not auto-link URLs, channel names or mentions in attacker text.
function mrkdwn(text: string): { type: 'mrkdwn'; text: string; verbatim: true } {
  return { type: 'mrkdwn', text, verbatim: true };
}

function severityGlyph(severity: Severity): string {
  return severity === 'critical' ? '🔴' : severity === 'warning' ? '🟠' : '🔵';
}
