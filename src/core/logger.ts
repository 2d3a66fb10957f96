import type winston from 'winston';
import { lazyRequire } from './lazy-require.js';
import { escapeTerminal } from './text.js';

// winston is loaded on the first createLogger()/closeLogger() call, not on import: most
// programs pass their own logger (or none).
const loadWinston = lazyRequire<typeof winston>('winston');

/**
 * The logging interface hostwarden writes to: any object with these four methods
 * fits (winston, pino, `console`). The library never adds transports to it.
 */
export interface Logger {
  /** Fine-grained diagnostics (each rotation, each retry). */
  debug(message: string, meta?: Record<string, unknown>): void;
  /** Normal operation worth recording (started, stopped, quarantined). */
  info(message: string, meta?: Record<string, unknown>): void;
  /** Something was skipped or degraded but work goes on. */
  warn(message: string, meta?: Record<string, unknown>): void;
  /** Something failed. */
  error(message: string, meta?: Record<string, unknown>): void;
}

const noop = (): void => {};

/**
 * The default logger: discards everything, so an embedded library stays quiet unless
 * its user passes a logger.
 */
export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /**
   * The lowest level written.
   * @defaultValue `'info'`
   */
  readonly level?: 'debug' | 'info' | 'warn' | 'error';
  /** Also write JSON lines (one object per entry, with an ISO `timestamp`) to this file. */
  readonly file?: string;
  /**
   * Write human-readable lines to the console (stderr for warnings and errors).
   * @defaultValue `true`
   */
  readonly console?: boolean;
}

/**
 * A ready winston logger for applications and examples: readable console output,
 * plus JSON lines in `file` when given. Libraries should accept a {@link Logger}
 * instead of calling this.
 *
 * @example
 * const logger = createLogger({ level: 'info', file: 'malicious_code.log' });
 * logger.warn('Found a PE executable', { path: '/home/eve/invoice.pdf' });
 */
export function createLogger(options: CreateLoggerOptions = {}): winston.Logger {
  const { level = 'info', file, console: toConsole = true } = options;
  const winston = loadWinston();
  const transports: winston.transport[] = [];
  if (toConsole) {
    transports.push(
      new winston.transports.Console({
        stderrLevels: ['warn', 'error'],
        format: winston.format.combine(
          winston.format.timestamp(),
          // Messages often carry attacker text (log lines, file names): one entry stays one
          // line, and escape sequences cannot reach the terminal.
          winston.format.printf(({ timestamp, level: entryLevel, message, ...meta }) => {
            const extra = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
            return escapeTerminal(`${String(timestamp)} ${entryLevel}: ${String(message)}${extra}`, { singleLine: true });
          }),
        ),
      }),
    );
  }
  if (file !== undefined) {
    transports.push(
      new winston.transports.File({
        filename: file,
        format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
      }),
    );
  }
  // A logger with no transport makes winston print a warning per entry; a silent
  // console transport keeps `console: false` without a file quiet instead.
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({ level, transports });
}

/**
 * Ends a winston logger and resolves once every file transport has written its
 * last entry (winston's own `'finish'` fires before files are flushed).
 *
 * @example
 * await closeLogger(logger);
 */
export async function closeLogger(logger: winston.Logger): Promise<void> {
  const { File } = loadWinston().transports;
  const files = logger.transports.filter((t) => t instanceof File);
  const flushed = files.map((t) => new Promise<void>((resolve) => t.once('finish', () => resolve())));
  logger.end();
  await Promise.all(flushed);
}
