import type { Alert } from '../core/alert.js';
import { escapeTerminal } from '../core/text.js';

/** How {@link formatAlert} renders. */
export interface FormatOptions {
  /** Use ANSI colours (only for a terminal that wants them). */
  readonly color?: boolean;
  /** At most this many evidence lines. */
  readonly maxEvidence?: number;
}

const COLORS = { critical: '\u001b[1;31m', warning: '\u001b[1;33m', info: '\u001b[1;36m', resolved: '\u001b[1;32m', dim: '\u001b[2m', reset: '\u001b[0m' };

/**
 * Renders one alert as a readable block for a terminal or a plain log:
 *
 * ```
 * [CRITICAL] FIRING  SSH brute force from 203.0.113.5 (6 failures in 10m)
 *   rule      log / sshd.brute-force
 *   when      2026-11-22T19:50:01.000Z on web-1
 *   labels    host=203.0.113.5 user=root
 *   summary   …
 *   evidence  | Nov 22 19:50:01 web-1 sshd[811]: Failed password for root from 203.0.113.5 …
 * ```
 *
 * Every field an attacker can influence is escaped (see {@link escapeTerminal}); the only
 * escape sequences in the output are the colours this function adds itself.
 */
export function formatAlert(alert: Alert, options: FormatOptions = {}): string {
  const { color = false, maxEvidence = 5 } = options;
  const paint = (code: string, text: string): string => (color ? `${code}${text}${COLORS.reset}` : text);
  const one = (text: string): string => escapeTerminal(text, { singleLine: true });
  const head = alert.status === 'resolved' ? paint(COLORS.resolved, '[RESOLVED]') : paint(COLORS[alert.severity], `[${alert.severity.toUpperCase()}]`);
  const lines = [alert.status === 'resolved' ? `${head} ${one(alert.title)}` : `${head} FIRING  ${one(alert.title)}`];
  const field = (name: string, value: string): void => {
    lines.push(`  ${paint(COLORS.dim, name.padEnd(9))} ${value}`);
  };
  field('rule', `${one(alert.source)} / ${one(alert.rule)}`);
  field('when', `${alert.time.toISOString()} on ${one(alert.hostname)}`);
  const labels = Object.entries(alert.labels);
  if (labels.length > 0) field('labels', labels.map(([k, v]) => `${one(k)}=${one(v)}`).join(' '));
  if (alert.summary !== alert.title && alert.summary.length > 0) {
    const summary = escapeTerminal(alert.summary).split('\n');
    field('summary', summary[0] ?? '');
    for (const rest of summary.slice(1)) lines.push(`  ${' '.repeat(9)} ${rest}`);
  }
  const evidence = alert.evidence ?? [];
  evidence.slice(0, maxEvidence).forEach((line, i) => {
    if (i === 0) field('evidence', `| ${one(line)}`);
    else lines.push(`  ${' '.repeat(9)} | ${one(line)}`);
  });
  if (evidence.length > maxEvidence) lines.push(`  ${' '.repeat(9)} … ${evidence.length - maxEvidence} more`);
  return lines.join('\n');
}

/** Whether a stream is a terminal that accepts colour (honours `NO_COLOR` and `FORCE_COLOR`). */
export function wantsColor(stream: { readonly isTTY?: boolean | undefined }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return false;
  if (env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}
