import type { Alert } from '../core/alert.js';
import { compareSeverity, maxSeverity, type Severity } from '../core/severity.js';
import type { Notification } from './channel.js';
import { safeText } from '../core/text.js';

/**
 * Text shared by the channels' renderers, before channel-specific escaping.
 * @internal
 */

/** `[FIRING:3]` or `[RESOLVED]`, Alertmanager style. @internal */
export function statusTag(notification: Notification): string {
  const n = notification.alerts.length;
  const status = notification.status === 'firing' ? 'FIRING' : 'RESOLVED';
  return n > 1 ? `[${status}:${n}]` : `[${status}]`;
}

/** The most urgent severity of a notification's alerts. @internal */
export function notificationSeverity(notification: Notification): Severity {
  return notification.alerts.reduce<Severity>((s, a) => maxSeverity(s, a.severity), 'info');
}

/**
 * The alerts most severe first, in arrival order within a severity: what a digest
 * leads with, so a critical finding is never folded behind informational ones.
 * @internal
 */
export function bySeverity(alerts: readonly Alert[]): Alert[] {
  return alerts
    .map((alert, index) => ({ alert, index }))
    .sort((a, b) => compareSeverity(b.alert.severity, a.alert.severity) || a.index - b.index)
    .map((x) => x.alert);
}

/**
 * Joins `names` with `separator` as long as the result fits in `max` characters,
 * then says how many were left out (` (+3 more)`). The first name is always shown,
 * cut if it must be.
 *
 * @example
 * nameList(['a', 'b', 'c'], 12); // 'a; (+2 more)' or 'a; b; c' when it fits
 * @internal
 */
export function nameList(names: readonly string[], max: number, separator = '; '): string {
  const more = (left: number): string => (left > 0 ? ` (+${left} more)` : '');
  let out = '';
  let shown = 0;
  for (const name of names) {
    const candidate = shown === 0 ? name : `${out}${separator}${name}`;
    if (candidate.length + more(names.length - shown - 1).length > max) break;
    out = candidate;
    shown++;
  }
  if (shown === 0 && names.length > 0) {
    out = safeText(names[0] ?? '', { max: Math.max(1, max - more(names.length - 1).length) });
    shown = 1;
  }
  return `${out}${more(names.length - shown)}`;
}

/**
 * One line naming the notification, unescaped: the alert's title, or for a digest the
 * count, the rule and the titles, most severe first, as many as fit in `max`
 * ("3 × 2 rules: ELF in /tmp/x; PE in /tmp/y (+1 more)").
 * @internal
 */
export function headline(notification: Notification, max = 200): string {
  const alerts = bySeverity(notification.alerts);
  const first = alerts[0];
  if (first === undefined) return '';
  if (alerts.length === 1) return safeText(safeText(first.title, { singleLine: true }), { max: max });
  const rules = new Set(alerts.map((a) => a.rule));
  const what = rules.size === 1 ? safeText(first.rule, { singleLine: true }) : `${rules.size} rules`;
  const prefix = `${alerts.length} × ${what}: `;
  return `${prefix}${nameList(
    alerts.map((a) => safeText(a.title, { singleLine: true })),
    Math.max(20, max - prefix.length),
  )}`;
}

/** The label pairs worth showing, in a stable order. @internal */
export function labelPairs(alert: Alert): [string, string][] {
  return Object.entries(alert.labels)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .sort(([a], [b]) => a.localeCompare(b));
}

/** A plain-text rendering (e-mail text part, webhook-less logs). @internal */
export function plainText(notification: Notification, maxAlerts = 50): string {
  const lines = [`${statusTag(notification)} ${headline(notification, 500)}`, ''];
  const ordered = bySeverity(notification.alerts);
  const shown = ordered.slice(0, maxAlerts);
  for (const alert of shown) {
    lines.push(`${alert.status === 'firing' ? '●' : '✓'} ${safeText(alert.title, { singleLine: true })}`);
    lines.push(
      `  severity: ${alert.severity}   rule: ${safeText(alert.rule, { singleLine: true })}   host: ${safeText(alert.hostname, { singleLine: true })}   at: ${alert.time.toISOString()}`,
    );
    if (alert.summary !== alert.title) for (const l of alert.summary.split(/\r?\n/).slice(0, 20)) lines.push(`  ${safeText(l, { singleLine: true, max: 1000 })}`);
    for (const [k, v] of labelPairs(alert)) lines.push(`  ${safeText(k, { singleLine: true })}: ${safeText(v, { singleLine: true, max: 500 })}`);
    if (alert.evidence !== undefined && alert.evidence.length > 0) {
      lines.push('  evidence:');
      for (const e of alert.evidence.slice(0, 20)) lines.push(`    ${safeText(e, { singleLine: true, max: 1000 })}`);
    }
    lines.push('');
  }
  const rest = ordered.slice(shown.length);
  if (rest.length > 0) {
    lines.push(`…and ${rest.length} more:`);
    for (const alert of rest) lines.push(`● ${alert.severity} ${safeText(alert.title, { singleLine: true, max: 500 })}`);
  }
  return lines.join('\n');
}
