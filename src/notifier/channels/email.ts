import { createRequire } from 'node:module';
import type nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Alert } from '../../core/alert.js';
import { DeliveryError, InvalidOptionError } from '../../core/errors.js';
import type { Severity } from '../../core/severity.js';
import { durationOption, rejectUnknownKeys } from '../../core/options.js';
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
   * Refuse to send unless STARTTLS succeeds. On by default whenever `auth` is given
   * (without `secure`), so a password never crosses the network in clear text; set it to
   * `false` explicitly only for a server you reach over a trusted link.
   * @defaultValue `true` with `auth`, else `false`
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
   * Verify the server's TLS certificate. A certificate that fails verification is a
   * permanent error (retrying cannot fix it), reported with the reason.
   * @defaultValue `true`
   */
  readonly rejectUnauthorized?: boolean;
  /** Trusted CA certificate(s), PEM, for a server whose certificate a private CA signed. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * The name the certificate must carry, when it differs from `host` (e.g. connecting
   * by IP address).
   * @defaultValue `host`
   */
  readonly servername?: string;
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
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('EmailChannel', options, EMAIL_KEYS);
    const host = expectString('host', options.host);
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
    const timeout = options.timeout === undefined ? 30_000 : durationOption('timeout', options.timeout, { min: 1 });
    const maxConnections = options.maxConnections === undefined ? 2 : expectNumber('maxConnections', options.maxConnections, { min: 1, integer: true });
    if (options.auth !== undefined) {
      if (typeof options.auth !== 'object' || options.auth === null) throw new InvalidOptionError('auth', '[redacted]', 'an object { user, pass }');
      expectString('auth.user', options.auth.user);
      if (typeof options.auth.pass !== 'string' || options.auth.pass.length === 0) throw new InvalidOptionError('auth.pass', '[redacted]', 'a non-empty string');
    }
    // The password as given and as it crosses the wire: AUTH PLAIN sends
    // base64("\0user\0pass"), which a server may echo back in its 535 reply.
    this.#secrets = options.auth === undefined ? [] : authSecrets(options.auth.user, options.auth.pass);
    const requireTLS = options.requireTLS === undefined ? options.auth !== undefined && !secure : expectBoolean('requireTLS', options.requireTLS);
    const tls: SMTPPool.Options['tls'] = { rejectUnauthorized: options.rejectUnauthorized === undefined ? true : expectBoolean('rejectUnauthorized', options.rejectUnauthorized) };
    if (options.ca !== undefined) {
      const list = Array.isArray(options.ca) ? options.ca : [options.ca];
      if (list.length === 0 || list.some((c) => typeof c !== 'string' && !Buffer.isBuffer(c)))
        throw new InvalidOptionError('ca', '[certificate]', 'a PEM string or Buffer, or an array of them');
      tls.ca = list as (string | Buffer)[];
    }
    if (options.servername !== undefined) tls.servername = expectString('servername', options.servername);
    const transportOptions: SMTPPool.Options = {
      pool: true,
      host,
      port,
      secure,
      requireTLS,
      maxConnections,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      tls,
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
    const certificate = certificateProblem(error);
    if (certificate !== undefined) {
      // Retrying for a day cannot fix a certificate: fail at once and say why.
      return new DeliveryError(
        `SMTP delivery for ${this.name} failed: the server's TLS certificate was refused (${certificate}); fix the server's certificate or set \`ca\`/\`servername\``,
        { channel: this.name, retryable: false, cause },
      );
    }
    if (code === 'ETLS' && /STARTTLS/i.test(String(e.message))) {
      return new DeliveryError(
        `SMTP delivery for ${this.name} failed: the server does not offer STARTTLS and \`requireTLS\` is on, so the credentials were not sent in clear text`,
        { channel: this.name, retryable: false, cause },
      );
    }
    // RFC 5321: 5yz is a permanent refusal, 4yz a transient one.
    const permanent = responseCode !== undefined ? responseCode >= 500 : code === 'EENVELOPE' || code === 'EMESSAGE';
    const options = responseCode === undefined ? { channel: this.name, retryable: !permanent, cause } : { channel: this.name, retryable: !permanent, cause, status: responseCode };
    return new DeliveryError(`SMTP delivery for ${this.name} failed${code === undefined ? '' : ` (${code})`}: ${detail}`, options);
  }
}

const EMAIL_KEYS = [
  'host',
  'port',
  'secure',
  'requireTLS',
  'auth',
  'from',
  'to',
  'minSeverity',
  'name',
  'subjectPrefix',
  'timeout',
  'maxConnections',
  'rejectUnauthorized',
  'ca',
  'servername',
  'rateLimit',
] as const;

// OpenSSL's verification failures, as Node reports them in `code`. nodemailer replaces
// that code with ESOCKET and keeps only Node's message, so the messages count too.
const CERT_CODES =
  /^(?:ERR_TLS_CERT_ALTNAME_INVALID|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_[A-Z_]+|HOSTNAME_MISMATCH)$/;
const CERT_MESSAGES =
  /self[- ]signed certificate|unable to verify the first certificate|unable to get (?:local )?issuer certificate|certificate has expired|certificate is not yet valid|does not match certificate's altnames|certificate signature failure/i;

/** The certificate verification failure somewhere in an error chain, as one safe line. */
function certificateProblem(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  const text = typeof message === 'string' ? message : '';
  if ((typeof code === 'string' && CERT_CODES.test(code)) || CERT_MESSAGES.test(text)) {
    return safeText(typeof code === 'string' && CERT_CODES.test(code) ? `${code}: ${text}` : text, { singleLine: true, max: 200 });
  }
  return certificateProblem(cause, depth + 1);
}

/** The forms a password takes on the SMTP wire (AUTH PLAIN and LOGIN), for redaction. */
function authSecrets(user: string, pass: string): string[] {
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  return [pass, b64(`\u0000${user}\u0000${pass}`), b64(`${user}\u0000${pass}`), b64(`${user}\u0000${user}\u0000${pass}`)];
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
  const rows = [['severity', alert.severity], ['rule', alert.rule], ['source', alert.source], ['host', alert.hostname], ['time', alert.time.toISOString()], ...labelPairs(alert)]
    .map(([k, v]) => `<tr><th align="left">${escapeHtml(k ?? '', { singleLine: true })}</th><td>${escapeHtml(v ?? '', { singleLine: true, max: 1000 })}</td></tr>`)
    .join('');
  const summary = alert.summary === alert.title ? '' : `<p style="white-space:pre-wrap">${escapeHtml(alert.summary, { max: 5000 })}</p>`;
  const evidence =
    alert.evidence !== undefined && alert.evidence.length > 0
      ? `<pre>${escapeHtml(
          alert.evidence
            .slice(0, 30)
            .map((l) => safeText(l, { singleLine: true, max: 1000 }))
            .join('\n'),
        )}</pre>`
      : '';
  return `<h3>${escapeHtml(alert.title, { singleLine: true, max: 500 })}</h3>${summary}<table>${rows}</table>${evidence}`;
}
