import type { Alert } from '../core/alert.js';

/**
 * One alert in the body of Alertmanager's `POST /api/v2/alerts` (its `postableAlert`
 * schema). Alertmanager identifies an alert by its label set alone.
 */
export interface PostableAlert {
  /** The identity: `alertname`, `severity`, `instance`, `source` plus the alert's own labels. */
  readonly labels: Readonly<Record<string, string>>;
  /** Human text: `title`, `summary` and, when there is some, `evidence`. */
  readonly annotations: Readonly<Record<string, string>>;
  /** RFC 3339 time the condition started. */
  readonly startsAt: string;
  /** RFC 3339 time the alert ends (resolved), or stops being valid unless re-sent (firing). */
  readonly endsAt: string;
  /** A link back to where the alert came from, when configured. */
  readonly generatorURL?: string;
}

// Prometheus' classic label-name grammar, which Alertmanager 0.25+ validates against.
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
// Label values are attacker-controlled (user names, paths from logs): bounded so one
// hostile line cannot bloat every re-send and every Alertmanager notification.
const MAX_LABEL_VALUE = 1024;
const MAX_ANNOTATION = 8192;
const MAX_EVIDENCE_LINES = 20;

/**
 * Turns any string into a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`):
 * every other character becomes `_`, and a leading digit gets a `_` prefix.
 * Returns `undefined` for the empty string.
 *
 * @example
 * sanitizeLabelName('client-ip');  // 'client_ip'
 * sanitizeLabelName('2fa.method'); // '_2fa_method'
 */
export function sanitizeLabelName(name: string): string | undefined {
  if (name.length === 0) return undefined;
  if (LABEL_NAME.test(name)) return name;
  const replaced = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(replaced) ? `_${replaced}` : replaced;
}

/**
 * The label set an {@link Alert} has in Alertmanager: its own labels (names sanitized,
 * empty values dropped, since Prometheus treats an empty label as absent) and then
 * `alertname` (the rule), `severity`, `instance` (the hostname) and `source`, which
 * win over same-named labels of the alert so identity and routing stay predictable.
 *
 * @example
 * alertmanagerLabels(alert);
 * // { host: '203.0.113.5', alertname: 'sshd.brute-force', severity: 'critical', instance: 'web-1', source: 'log' }
 */
export function alertmanagerLabels(alert: Alert): Record<string, string> {
  const labels: Record<string, string> = {};
  // Valid names first, so `client_ip` given verbatim is not overwritten by a sanitized `client-ip`.
  const entries = Object.entries(alert.labels ?? {}).filter(([, v]) => typeof v === 'string' && v.length > 0);
  entries.sort(([a], [b]) => Number(!LABEL_NAME.test(a)) - Number(!LABEL_NAME.test(b)));
  for (const [name, value] of entries) {
    const clean = sanitizeLabelName(name);
    if (clean === undefined || clean in labels) continue;
    labels[clean] = bound(value, MAX_LABEL_VALUE);
  }
  labels['alertname'] = bound(alert.rule, MAX_LABEL_VALUE);
  labels['severity'] = alert.severity;
  labels['instance'] = bound(alert.hostname, MAX_LABEL_VALUE);
  labels['source'] = bound(alert.source, MAX_LABEL_VALUE);
  for (const key of Object.keys(labels)) if (labels[key] === '') delete labels[key];
  return labels;
}

/**
 * The annotations an {@link Alert} has in Alertmanager: `title`, `summary`, and the
 * evidence lines joined by newlines (bounded). Alertmanager templates escape them
 * for each receiver; hostwarden only bounds their size.
 */
export function alertmanagerAnnotations(alert: Alert): Record<string, string> {
  const annotations: Record<string, string> = {
    title: bound(alert.title, MAX_ANNOTATION),
    summary: bound(alert.summary, MAX_ANNOTATION),
  };
  if (alert.evidence && alert.evidence.length > 0) {
    const lines = alert.evidence.slice(-MAX_EVIDENCE_LINES).map((line) => bound(line, 1024));
    annotations['evidence'] = bound(lines.join('\n'), MAX_ANNOTATION);
  }
  return annotations;
}

/**
 * A stable string for a label set (sorted name=value pairs), the same identity
 * Alertmanager derives its fingerprint from.
 * @internal
 */
export function labelSetKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((name) => [name, labels[name]]),
  );
}

function bound(text: string, max: number): string {
  const value = typeof text === 'string' ? text : String(text);
  // Cut on a code point, never inside a surrogate pair (Alertmanager wants valid UTF-8).
  if (value.length <= max) return value;
  const cut = Array.from(value.slice(0, max + 1))
    .slice(0, -2)
    .join('');
  return `${cut}…`;
}
