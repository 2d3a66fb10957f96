import { createRequire } from 'node:module';
import type nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Alert } from '../../core/alert.js';
import { DeliveryError, InvalidOptionError } from '../../core/errors.js';
import type { Severity } from '../../core/severity.js';
import { expectBoolean, expectNumber, expectSeverity, expectString } from '../../core/validate.js';
import type { Channel, DeliveryReceipt, Notification, RateLimit, SendContext } from '../channel.js';
import { escapeHtml, safeText } from '../../core/text.js';
import { bySeverity, headline, labelPairs, notificationSeverity, plainText, statusTag } from '../format.js';
import { redactText, sanitizeError } from '../redact.js';

/** SMTP credentials of an {@link EmailChannel}. */
export interface EmailAuth {
  /** SMTP user name. */
  readonly user: string;
  /** SMTP password; redacted from every error. */
  readonly pass: string;
}

/** Options of {@link EmailChannel}. */
export interface EmailChannelOptions {
  /** SMTP server host name or address. */
  readonly host: string;
  /**
   * SMTP port.
   * @defaultValue `587` (`465` when `secure`)
   */
  readonly port?: number;
  /**
   * Use implicit TLS from the first byte (port 465). Otherwise STARTTLS is used when offered.
   * @defaultValue `false`
   */
  readonly secure?: boolean;
  /**
   * Refuse to send unless STARTTLS succeeds (set it when `auth` is given without `secure`).
   * @defaultValue `false`
   */
  readonly requireTLS?: boolean;
  /** SMTP credentials; the password never appears in logs or errors. */
  readonly auth?: EmailAuth;
  /** The sender, e.g. `'hostwarden <alerts@example.com>'`. */
  readonly from: string;
  /** Recipient address(es). */
  readonly to: string | readonly string[];
  /**
   * Alerts below this severity are not mailed.
   * @defaultValue `'warning'`
   */
  readonly minSeverity?: Severity;
  /**
   * The channel's name in events, metrics and the outbox.
   * @defaultValue `'email'`
   */
  readonly name?: string;
  /**
   * Prefix of every subject line.
   * @defaultValue `'[hostwarden]'`
   */
  readonly subjectPrefix?: string;
  /**
   * Connection, greeting and socket timeout, in ms.
   * @defaultValue `30_000`
   */
  readonly timeout?: number;
  /**
   * Pooled SMTP connections kept open.
   * @defaultValue `2`
   */
  readonly maxConnections?: number;
  /**
   * Verify the server's TLS certificate.
   * @defaultValue `true`
   */
  readonly rejectUnauthorized?: boolean;
  /**
   * Messages per second.
   * @defaultValue `{ perSecond: 1, burst: 5 }`
   */
  readonly rateLimit?: RateLimit;
}

/**
 * Mails alerts over SMTP through a pooled nodemailer transport: a plain-text part and
 * an HTML part in which every alert field is HTML-escaped; the subject is one line
 * (CR/LF stripped, so log text cannot inject headers). A 5xx SMTP reply is permanent;
 * 4xx replies and network errors are retried by the Notifier.
 *
 * @example
 * new EmailChannel({ host: 'smtp.example.com', auth: { user: 'alerts', pass: secret }, from: 'alerts@example.com', to: 'ops@example.com' });
 */
export class EmailChannel implements Channel {
  /** The channel's name in events and the outbox. */
  readonly name: string;
  /** Alerts below this severity are not mailed. */
  readonly minSeverity: Severity;
  /** Messages per second. */
  readonly rateLimit: RateLimit;
  readonly #transport: nodemailer.Transporter<SMTPPool.SentMessageInfo>;
  readonly #from: string;
  readonly #to: string[];
  readonly #prefix: string;
  readonly #secrets: readonly string[];

  /** @throws {@link InvalidOptionError} naming the first invalid option (never echoing the password). */
  constructor(options: EmailChannelOptions) {
    const host = expectString('host', options?.host);
    const secure = options.secure === undefined ? false : expectBoolean('secure', options.secure);
    const port = options.port === undefined ? (secure ? 465 : 587) : expectNumber('port', options.port, { min: 1, max: 65535, integer: true });
    this.#from = safeText(expectString('from', options.from), { singleLine: true });
    const to = typeof options.to === 'string' ? [options.to] : options.to;
    if (!Array.isArray(to) || to.length === 0 || to.some((t) => typeof t !== 'string' || t.length === 0)) {
      throw new InvalidOptionError('to', options.to, 'an address or a non-empty array of addresses');
    }
    this.#to = to.map((t: string) => safeText(t, { singleLine: true }));
    this.name = options.name === undefined ? 'email' : expectString('name', options.name);
    this.minSeverity = options.minSeverity === undefined ? 'warning' : expectSeverity('minSeverity', options.minSeverity);
    this.rateLimit = options.rateLimit ?? { perSecond: 1, burst: 5 };
    this.#prefix = options.subjectPrefix === undefined ? '[hostwarden]' : safeText(options.subjectPrefix, { singleLine: true });
    const timeout = options.timeout === undefined ? 30_000 : expectNumber('timeout', options.timeout, { min: 1 });
    const maxConnections = options.maxConnections === undefined ? 2 : expectNumber('maxConnections', options.maxConnections, { min: 1, integer: true });
    if (options.auth !== undefined) {
      if (typeof options.auth !== 'object' || options.auth === null) throw new InvalidOptionError('auth', '[redacted]', 'an object { user, pass }');
      expectString('auth.user', options.auth.user);
      if (typeof options.auth.pass !== 'string' || options.auth.pass.length === 0) throw new InvalidOptionError('auth.pass', '[redacted]', 'a non-empty string');
    }
    this.#secrets = options.auth === undefined ? [] : [options.auth.pass];
    const transportOptions: SMTPPool.Options = {
      pool: true,
      host,
      port,
      secure,
      requireTLS: options.requireTLS ?? false,
      maxConnections,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
      logger: false,
      debug: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    };
    if (options.auth !== undefined) transportOptions.auth = { user: options.auth.user, pass: options.auth.pass };
    // Loaded here, not on import: programs that import hostwarden without e-mail alerts
    // (a scanner, a log watcher) do not pay nodemailer's start-up time and memory.
    // It is CommonJS, so the constructor stays synchronous.
    const mailer = createRequire(import.meta.url)('nodemailer') as typeof nodemailer;
    this.#transport = mailer.createTransport(transportOptions);
  }

  /** Sends one mail; the receipt's `ref` is its Message-ID (for `In-Reply-To` on the resolved notice). */
  async send(notification: Notification, context: SendContext): Promise<DeliveryReceipt> {
    const subject = safeText(`${this.#prefix} ${statusTag(notification)} ${headline(notification, 200)}`, { singleLine: true, max: 250 });
    const message: nodemailer.SendMailOptions = {
      from: this.#from,
      to: this.#to,
      subject,
      text: plainText(notification),
      html: renderEmailHtml(notification),
      headers: { 'X-Hostwarden-Severity': notificationSeverity(notification), 'X-Hostwarden-Status': notification.status },
      disableFileAccess: true,
      disableUrlAccess: true,
    };
    if (notification.threadRef !== undefined && /^<[^<>\s]+>$/.test(notification.threadRef)) {
      message.inReplyTo = notification.threadRef;
      message.references = [notification.threadRef];
    }
    try {
      context.signal.throwIfAborted();
      const info = await this.#transport.sendMail(message);
      return typeof info.messageId === 'string' ? { ref: info.messageId } : {};
    } catch (error) {
      throw this.#toDeliveryError(error);
    }
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    this.#transport.close();
  }

  #toDeliveryError(error: unknown): DeliveryError {
    const cause = sanitizeError(error, this.#secrets);
    const e = (typeof error === 'object' && error !== null ? error : {}) as { responseCode?: unknown; code?: unknown; message?: unknown; response?: unknown };
    const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
    const code = typeof e.code === 'string' ? e.code : undefined;
    const reply = typeof e.response === 'string' ? safeText(e.response, { singleLine: true, max: 200 }) : undefined;
    const detail = redactText(reply ?? (typeof e.message === 'string' ? safeText(e.message, { singleLine: true }) : String(error)), this.#secrets);
    // RFC 5321: 5yz is a permanent refusal, 4yz a transient one.
    const permanent = responseCode !== undefined ? responseCode >= 500 : code === 'EENVELOPE' || code === 'EMESSAGE';
    const options = responseCode === undefined ? { channel: this.name, retryable: !permanent, cause } : { channel: this.name, retryable: !permanent, cause, status: responseCode };
    return new DeliveryError(`SMTP delivery for ${this.name} failed${code === undefined ? '' : ` (${code})`}: ${detail}`, options);
  }
}

const HTML_COLOR: Readonly<Record<Severity, string>> = { critical: '#d40e0d', warning: '#b8860b', info: '#2b7bb9' };

/**
 * Renders the HTML part of an alert mail; every alert field is HTML-escaped.
 *
 * @example
 * const html = renderEmailHtml({ status: 'firing', alerts: [alert], groupKey: 'file:file.hash-match' });
 */
export function renderEmailHtml(notification: Notification, maxAlerts = 50): string {
  const color = notification.status === 'resolved' ? '#2e7d32' : HTML_COLOR[notificationSeverity(notification)];
  const parts = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2 style="color:${color}">${escapeHtml(`${statusTag(notification)} ${headline(notification, 500)}`)}</h2>`,
  ];
  const ordered = bySeverity(notification.alerts);
  for (const alert of ordered.slice(0, maxAlerts)) parts.push(alertHtml(alert));
  const rest = ordered.slice(maxAlerts);
  if (rest.length > 0) {
    parts.push(`<p>…and ${rest.length} more:</p><ul>`);
    for (const alert of rest) parts.push(`<li>${escapeHtml(`${alert.severity} ${alert.title}`, { singleLine: true, max: 500 })}</li>`);
    parts.push('</ul>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

function alertHtml(alert: Alert): string {
  const rows = [
    ['severity', alert.severity],
    ['rule', alert.rule],
    ['source', alert.source],
    ['host', alert.hostname],
    ['time', alert.time.toISOString()],
    ...labelPairs(alert),
  ]
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(k ?? '', { singleLine: true })}</th><td>${escapeHtml(v ?? '', { singleLine: true, max: 1000 })}</td></tr>`)
    .join('');
  const summary = alert.summary === alert.title ? '' : `<p style="white-space:pre-wrap">${escapeHtml(alert.summary, { max: 5000 })}</p>`;
  const evidence =
    alert.evidence !== undefined && alert.evidence.length > 0
      ? `<pre>${escapeHtml(alert.evidence.slice(0, 30).map((l) => safeText(l, { singleLine: true, max: 1000 })).join('\n'))}</pre>`
      : '';
  return `<h3>${escapeHtml(alert.title, { singleLine: true, max: 500 })}</h3>${summary}<table>${rows}</table>${evidence}`;
}
