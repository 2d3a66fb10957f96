import { systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { OutStream } from './context.js';
import { escapeTerminal } from '../core/text.js';

const ORDER = { debug: 0, info: 1, warn: 2, error: 3 } as const;

/**
 * A {@link Logger} writing one escaped line per entry to a stream: the CLI's diagnostics
 * go to stderr (stdout stays for reports and alerts), and tests can capture them.
 */
export function streamLogger(stream: OutStream, level: keyof typeof ORDER = 'info'): Logger {
  const write = (entry: keyof typeof ORDER) => (message: string, meta?: Record<string, unknown>) => {
    if (ORDER[entry] < ORDER[level]) return;
    const extra = meta !== undefined && Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
    stream.write(`${new Date(systemClock()).toISOString()} ${entry}: ${escapeTerminal(`${message}${extra}`, { singleLine: true })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
