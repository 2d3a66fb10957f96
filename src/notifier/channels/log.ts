import type { Logger } from '../../core/logger.js';
import type { Severity } from '../../core/severity.js';
import { expectLogger, expectSeverity, expectString } from '../../core/validate.js';
import { DeliveryError, InvalidOptionError } from '../../core/errors.js';
import { rejectUnknownKeys } from '../../core/options.js';
import type { Channel, DeliveryReceipt, Notification, RateLimit, SendContext } from '../channel.js';
import { winstonWriteFailure } from './log-written.js';
import { safeText } from '../../core/text.js';
import { headline, notificationSeverity, statusTag } from '../format.js';

/** Options of {@link LogChannel}. */
export interface LogChannelOptions {
  /** Where to write: a winston logger (e.g. from `createLogger()`), pino, `console` or any {@link Logger}. */
  readonly logger: Logger;
  /**
   * Alerts below this severity are not logged.
   * @defaultValue `'info'`
   */
  readonly minSeverity?: Severity;
  /**
   * The channel's name in events, metrics and the outbox.
   * @defaultValue `'log'`
   */
  readonly name?: string;
}

const LEVEL: Readonly<Record<Severity, 'error' | 'warn' | 'info'>> = { critical: 'error', warning: 'warn', info: 'info' };

/**
 * Writes each notification as one log entry: `critical` at error level, `warning` at
 * warn, `info` (and resolved notices) at info. The message is one line (CR/LF from log
 * text cannot forge entries); the alerts go in the structured metadata.
 *
 * With a winston logger (e.g. from `createLogger({ file })`) a delivery counts only once
 * its file transports wrote the entry: winston itself drops file errors, so a full or
 * read-only disk would otherwise be reported as "sent". Other loggers (pino, console)
 * give no such confirmation; the entry counts as written when the call returns.
 *
 * @example
 * new LogChannel({ logger: createLogger({ file: 'alerts.log' }), minSeverity: 'warning' });
 */
export class LogChannel implements Channel {
  /** The channel's name in events and the outbox. */
  readonly name: string;
  /** Alerts below this severity are not logged. */
  readonly minSeverity: Severity;
  /** A log is local and cheap: effectively unlimited. */
  readonly rateLimit: RateLimit = { perSecond: 10_000, burst: 10_000 };
  readonly #logger: Logger;

  /** @throws {@link InvalidOptionError} naming the first invalid option. */
  constructor(options: LogChannelOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('LogChannel', options, ['logger', 'minSeverity', 'name']);
    this.#logger = expectLogger('logger', options.logger);
    this.name = options.name === undefined ? 'log' : expectString('name', options.name);
    this.minSeverity = options.minSeverity === undefined ? 'info' : expectSeverity('minSeverity', options.minSeverity);
  }

  /**
   * Writes one entry. With a winston logger, resolves only once its file transports
   * wrote it; a full or read-only disk is a retryable {@link DeliveryError}, never "sent".
   */
  async send(notification: Notification, context: SendContext): Promise<DeliveryReceipt> {
    const level = notification.status === 'resolved' ? 'info' : LEVEL[notificationSeverity(notification)];
    this.#logger[level](`${statusTag(notification)} ${headline(notification, 1000)}`, {
      status: notification.status,
      groupKey: notification.groupKey,
      alerts: notification.alerts.map((a) => ({
        key: a.key,
        id: a.id,
        source: a.source,
        rule: a.rule,
        severity: a.severity,
        title: safeText(a.title, { singleLine: true, max: 1000 }),
        summary: safeText(safeText(a.summary), { max: 4000 }),
        hostname: a.hostname,
        time: a.time.toISOString(),
        labels: a.labels,
        ...(a.evidence === undefined ? {} : { evidence: a.evidence.slice(0, 50).map((e) => safeText(safeText(e), { max: 2000 })) }),
      })),
    });
    const failure = await winstonWriteFailure(this.#logger, context.signal).catch((error: unknown) => {
      throw new DeliveryError(`Log ${this.name}: the entry was not confirmed written`, { channel: this.name, retryable: true, cause: error });
    });
    if (failure !== undefined) {
      throw new DeliveryError(`Log ${this.name} could not write ${safeText(failure, { singleLine: true, max: 500 })}`, { channel: this.name, retryable: true });
    }
    return {};
  }
}
