import type { Severity } from '../core/severity.js';
import type { Channel, DeliveryReceipt, Notification, RateLimit } from '../notifier/channel.js';
import { escapeTerminal } from '../core/text.js';
import { formatAlert } from './format.js';

/** Options of {@link ConsoleChannel}. */
export interface ConsoleChannelOptions {
  /** Channel name. @defaultValue `'console'` */
  readonly name?: string;
  /** Alerts below this severity are not printed. @defaultValue `'info'` */
  readonly minSeverity?: Severity;
  /** Where blocks are written. @defaultValue `process.stdout` */
  readonly stream?: { write(chunk: string): boolean };
  /** ANSI colours. @defaultValue `false` */
  readonly color?: boolean;
  /** Called before each block (e.g. to clear a progress line). */
  readonly beforeWrite?: () => void;
}

/**
 * Prints each alert of a notification as a readable block, for the CLI, the demo and
 * examples without a Slack token. Going through the Notifier (rather than printing the
 * components' events directly) means the console shows what Slack would get: deduplicated,
 * grouped, with resolved notices.
 */
export class ConsoleChannel implements Channel {
  readonly name: string;
  readonly minSeverity: Severity;
  /** A terminal is not a rate-limited API: print as fast as alerts come. */
  readonly rateLimit: RateLimit = { perSecond: 1000, burst: 1000 };
  readonly #stream: { write(chunk: string): boolean };
  readonly #color: boolean;
  readonly #beforeWrite: (() => void) | undefined;
  /** Alerts printed so far. */
  printed = 0;

  constructor(options: ConsoleChannelOptions = {}) {
    this.name = options.name ?? 'console';
    this.minSeverity = options.minSeverity ?? 'info';
    this.#stream = options.stream ?? process.stdout;
    this.#color = options.color ?? false;
    this.#beforeWrite = options.beforeWrite;
  }

  async send(notification: Notification): Promise<DeliveryReceipt> {
    this.#beforeWrite?.();
    const blocks = notification.alerts.map((alert) => formatAlert(alert, { color: this.#color }));
    const header = notification.alerts.length > 1 ? `── ${notification.alerts.length} alerts (${escapeTerminal(notification.groupKey, { singleLine: true })}) ──\n` : '';
    this.#stream.write(`${header}${blocks.join('\n\n')}\n\n`);
    this.printed += notification.alerts.length;
    return {};
  }
}
