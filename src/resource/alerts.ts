// Turns rule and anomaly decisions into Alerts: titles, summaries, keys and labels.
import { createAlert, resolveAlert, type Alert } from '../core/alert.js';
import type { Severity } from '../core/severity.js';
import type { AnomalyTransition } from './anomaly.js';
import { formatDuration } from '../core/format.js';
import { formatValue, metricLabel, type ResourceMetric } from './metrics.js';
import { formatProcess, type ProcessInfo } from './processes.js';
import type { RuleTransition } from './rules.js';
import type { ResourceSample } from './sample.js';

/** The key of a resource alert: `resource:<rule>:<mount or hostname>`. @internal */
export function alertKey(rule: string, mount: string | undefined, hostname: string): string {
  return `resource:${rule}:${mount ?? hostname}`;
}

// No `host` label: in log alerts `host` is the remote peer (fail2ban's <HOST>), and this
// machine's name already travels as `Alert.hostname` (Alertmanager's `instance`).
function labels(sample: ResourceSample, metric: ResourceMetric, extra: Readonly<Record<string, string>>): Record<string, string> {
  return { metric, scope: sample.scope, ...extra };
}

function processLines(processes: readonly ProcessInfo[] | undefined, by: string): string[] {
  if (!processes || processes.length === 0) return [];
  return [`Top processes by ${by}:`, ...processes.map((p) => `  ${formatProcess(p)}`)];
}

/** A firing or reminder alert for a threshold rule. @internal */
export function ruleAlert(t: RuleTransition, sample: ResourceSample, processes?: readonly ProcessInfo[], by = 'CPU'): Alert {
  const { rule, point } = t;
  const what = metricLabel(rule.metric, point.mount);
  const held = t.since < sample.time.getTime() ? ` for ${formatDuration(sample.time.getTime() - t.since)}` : '';
  const title = `${what} at ${formatValue(rule.metric, t.value)} (above ${formatValue(rule.metric, rule.above)}${held})`;
  const lines = [
    `${what} is ${formatValue(rule.metric, t.value)}, above the ${formatValue(rule.metric, rule.above)} threshold${held}; peak ${formatValue(rule.metric, t.peak)}.`,
    `It resolves when it drops below ${formatValue(rule.metric, rule.clearBelow)}.`,
    ...(t.kind === 'reminder' ? ['Reminder: still firing.'] : []),
    ...processLines(processes, by),
  ];
  return createAlert({
    source: 'resource',
    rule: rule.id,
    severity: rule.severity,
    key: alertKey(rule.id, point.mount, sample.hostname),
    title,
    summary: lines.join('\n'),
    hostname: sample.hostname,
    time: sample.time,
    labels: labels(sample, rule.metric, point.labels),
    ...(processes && processes.length > 0 ? { evidence: processes.map(formatProcess) } : {}),
  });
}

/** The resolved notice of a threshold rule's firing alert. @internal */
export function ruleResolved(firing: Alert, t: RuleTransition, sample: ResourceSample): Alert {
  const what = metricLabel(t.rule.metric, t.point.mount);
  const lasted = formatDuration(sample.time.getTime() - t.since);
  const title = t.gone ? `${what} is no longer measured` : `${what} back to ${formatValue(t.rule.metric, t.value)} (below ${formatValue(t.rule.metric, t.rule.clearBelow)})`;
  const summary = t.gone
    ? `${what} has not been measured for several samples (unmounted or unreadable); the alert is resolved. Last value ${formatValue(t.rule.metric, t.value)}, peak ${formatValue(t.rule.metric, t.peak)}, condition began ${lasted} ago.`
    : `${what} is ${formatValue(t.rule.metric, t.value)}, below ${formatValue(t.rule.metric, t.rule.clearBelow)}. Peak ${formatValue(t.rule.metric, t.peak)}; the condition lasted ${lasted}.`;
  return resolveAlert(firing, { time: sample.time, title, summary });
}

/** A firing `anomaly.<metric>` alert. @internal */
export function anomalyAlert(t: AnomalyTransition, sample: ResourceSample, severity: Severity, processes?: readonly ProcessInfo[], by = 'CPU'): Alert {
  const what = metricLabel(t.metric, t.point.mount);
  const z = Number.isFinite(t.z) ? `z ${t.z.toFixed(1)}` : 'flat baseline';
  const rule = `anomaly.${t.metric}`;
  return createAlert({
    source: 'resource',
    rule,
    severity,
    key: alertKey(rule, t.point.mount, sample.hostname),
    title: `Anomaly: ${what} at ${formatValue(t.metric, t.value)} vs. baseline ${formatValue(t.metric, t.mean)} (${z})`,
    summary: [
      `${what} is ${formatValue(t.metric, t.value)}; its learned baseline is ${formatValue(t.metric, t.mean)} ± ${formatValue(t.metric, t.stdDev)} (${z}).`,
      ...processLines(processes, by),
    ].join('\n'),
    hostname: sample.hostname,
    time: sample.time,
    labels: labels(sample, t.metric, t.point.labels),
    ...(processes && processes.length > 0 ? { evidence: processes.map(formatProcess) } : {}),
  });
}

/** The resolved notice of an anomaly alert. @internal */
export function anomalyResolved(firing: Alert, t: AnomalyTransition, sample: ResourceSample): Alert {
  const what = metricLabel(t.metric, t.point.mount);
  return resolveAlert(firing, {
    time: sample.time,
    title: t.adapted ? `${what} settled at a new level (${formatValue(t.metric, t.value)})` : `${what} back to its baseline (${formatValue(t.metric, t.value)})`,
    summary: t.adapted
      ? `${what} has stayed away from its old baseline long enough to become the new normal; the baseline was re-learned around ${formatValue(t.metric, t.value)}.`
      : `${what} is ${formatValue(t.metric, t.value)}, back within the baseline ${formatValue(t.metric, t.mean)} ± ${formatValue(t.metric, t.stdDev)}.`,
  });
}
