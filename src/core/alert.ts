import { randomUUID } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import { systemClock } from './clock.js';
import { InvalidOptionError } from './errors.js';
import { isSeverity, type Severity } from './severity.js';

/**
 * The one shape every hostwarden component raises and the Notifier consumes.
 * Its `labels` follow Alertmanager's conventions so alerts can leave the host unchanged.
 */
export interface Alert {
  /** Unique per occurrence (a firing and its resolved notice have different ids). */
  id: string;
  /** Stable identity for dedup, e.g. `log:sshd.brute-force:203.0.113.5`. */
  key: string;
  /** What raised it: `'log'`, `'resource'`, `'file'` or a user's own source. */
  source: string;
  /** The rule's id, e.g. `sshd.brute-force`, `cpu.high`, `file.hash-match`. */
  rule: string;
  /** How urgent it is. */
  severity: Severity;
  /** Whether the condition holds (`firing`) or has ended (`resolved`). */
  status: 'firing' | 'resolved';
  /** One human line, e.g. `SSH brute force from 203.0.113.5 (6 failures in 10m)`. */
  title: string;
  /** A few lines of detail. */
  summary: string;
  /** The host the condition was observed on. */
  hostname: string;
  /** When the condition was observed (event time, not send time). */
  time: Date;
  /** Identifying labels: host/ip, user, path, mount… (Alertmanager-compatible). */
  labels: Record<string, string>;
  /** Bounded supporting material, e.g. the log lines that caused it. */
  evidence?: string[];
}

/**
 * What {@link createAlert} needs: `source`, `rule`, `severity` and `title`, plus any
 * other {@link Alert} field to override its default.
 */
export type AlertInit = Pick<Alert, 'source' | 'rule' | 'severity' | 'title'> & Partial<Omit<Alert, 'source' | 'rule' | 'severity' | 'title'>>;

/**
 * Builds an {@link Alert}, filling `id` (a random UUID), `hostname` (this machine's),
 * `time` (now), `status: 'firing'`, `labels: {}`, `summary` (the title) and
 * `key` (`source:rule`). Any field given in `init` wins.
 *
 * @throws {@link InvalidOptionError} when a required field is missing or has the wrong type.
 * @example
 * const alert = createAlert({
 *   source: 'log',
 *   rule: 'sshd.brute-force',
 *   severity: 'critical',
 *   title: 'SSH brute force from 203.0.113.5',
 *   key: 'log:sshd.brute-force:203.0.113.5',
 *   labels: { host: '203.0.113.5' },
 * });
 */
export function createAlert(init: AlertInit): Alert {
  for (const field of ['source', 'rule', 'title'] as const) {
    if (typeof init[field] !== 'string' || init[field].length === 0) {
      throw new InvalidOptionError(field, init[field], 'a non-empty string');
    }
  }
  if (!isSeverity(init.severity)) {
    throw new InvalidOptionError('severity', init.severity, "one of 'info', 'warning', 'critical'");
  }
  if (init.time !== undefined && (!(init.time instanceof Date) || Number.isNaN(init.time.getTime()))) {
    throw new InvalidOptionError('time', init.time, 'a valid Date');
  }
  const alert: Alert = {
    id: randomUUID(),
    key: `${init.source}:${init.rule}`,
    status: 'firing',
    summary: init.title,
    hostname: osHostname(),
    time: new Date(systemClock()),
    ...stripUndefined(init),
    source: init.source,
    rule: init.rule,
    severity: init.severity,
    title: init.title,
    labels: { ...init.labels },
  };
  if (init.evidence !== undefined) alert.evidence = [...init.evidence];
  return alert;
}

/**
 * The resolved notice for a firing alert: same key, rule, labels and hostname, a new
 * `id`, `status: 'resolved'`, and `time` when the condition ended.
 *
 * @example
 * const resolved = resolveAlert(firing, { time: new Date(), summary: 'CPU back to 42 %' });
 */
export function resolveAlert(firing: Alert, changes: Partial<Pick<Alert, 'time' | 'title' | 'summary' | 'evidence'>> = {}): Alert {
  const resolved: Alert = {
    ...firing,
    id: randomUUID(),
    status: 'resolved',
    time: changes.time ?? new Date(systemClock()),
    title: changes.title ?? `Resolved: ${firing.title}`,
    summary: changes.summary ?? firing.summary,
    labels: { ...firing.labels },
  };
  const evidence = changes.evidence ?? firing.evidence;
  if (evidence === undefined) delete resolved.evidence;
  else resolved.evidence = [...evidence];
  return resolved;
}

// With exactOptionalPropertyTypes a caller cannot pass `undefined` through the types,
// but JavaScript callers can; an explicit undefined must not erase a default.
function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
