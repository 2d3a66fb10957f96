import type { Alert } from '../core/alert.js';
import { maxSeverity, type Severity } from '../core/severity.js';
import type { Notification } from './channel.js';
import { oneLine, truncate } from './escape.js';

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
 * One line naming the notification, unescaped: the alert's title, or for a digest the
 * count, the rule and the first title ("6 × sshd.brute-force: SSH brute force from … (+5 more)").
 * @internal
 */
export function headline(notification: Notification, max = 200): string {
  const alerts = notification.alerts;
  const first = alerts[0];
  if (first === undefined) return '';
  if (alerts.length === 1) return truncate(oneLine(first.title), max);
  const rules = new Set(alerts.map((a) => a.rule));
  const what = rules.size === 1 ? first.rule : `${rules.size} rules`;
  return truncate(oneLine(`${alerts.length} × ${what}: ${first.title} (+${alerts.length - 1} more)`), max);
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
  const shown = notification.alerts.slice(0, maxAlerts);
  for (const alert of shown) {
    lines.push(`${alert.status === 'firing' ? '●' : '✓'} ${oneLine(alert.title)}`);
    lines.push(`  severity: ${alert.severity}   rule: ${oneLine(alert.rule)}   host: ${oneLine(alert.hostname)}   at: ${alert.time.toISOString()}`);
    if (alert.summary !== alert.title) for (const l of alert.summary.split(/\r?\n/).slice(0, 20)) lines.push(`  ${truncate(oneLine(l), 1000)}`);
    for (const [k, v] of labelPairs(alert)) lines.push(`  ${oneLine(k)}: ${truncate(oneLine(v), 500)}`);
    if (alert.evidence !== undefined && alert.evidence.length > 0) {
      lines.push('  evidence:');
      for (const e of alert.evidence.slice(0, 20)) lines.push(`    ${truncate(oneLine(e), 1000)}`);
    }
    lines.push('');
  }
  if (notification.alerts.length > shown.length) lines.push(`…and ${notification.alerts.length - shown.length} more alerts.`);
  return lines.join('\n');
}
