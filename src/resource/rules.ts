// Threshold rules with Prometheus-style `for`, hysteresis and reminders: a state machine
// per (rule, mount) fed by samples. It decides; the monitor turns decisions into alerts.
import { InvalidOptionError } from '../core/errors.js';
import type { Severity } from '../core/severity.js';
import { expectNumber, expectOneOf, expectSeverity, expectString } from '../core/validate.js';
import picomatch from 'picomatch';
import { isDiskMetric, metricPoints, RESOURCE_METRICS, type MetricPoint, type ResourceMetric } from './metrics.js';
import type { ResourceSample } from './sample.js';

/**
 * A threshold rule: alert when `metric` stays above `above` for `for` ms; resolve when it
 * falls below `clearBelow` (and stays there for `clearFor` ms).
 *
 * @example
 * const rule: ResourceRule = { id: 'memory.critical', metric: 'memory', above: 97, for: 30_000, clearBelow: 90, severity: 'critical' };
 */
export interface ResourceRule {
  /**
   * The alert's rule id; unique among the monitor's rules.
   * @defaultValue `<metric>.high` (`cpu.high`, `memory.high`…), or the metric itself for
   * `disk.space` and `disk.inodes`
   */
  readonly id?: string;
  /** What to watch. */
  readonly metric: ResourceMetric;
  /** The threshold: the condition is `value > above`. */
  readonly above: number;
  /**
   * How long (ms) the condition must hold, measured on sample times, before the alert
   * fires. Any sample at or below `above` in between starts the wait again.
   * @defaultValue `0` (fire on the first sample above)
   */
  readonly for?: number;
  /**
   * The alert resolves only when the value drops below this (hysteresis), so a value
   * hovering around `above` cannot flap. Must be `<= above`.
   * @defaultValue `0.9 * above`
   */
  readonly clearBelow?: number;
  /** How long (ms) the value must stay below `clearBelow` before the alert resolves. @defaultValue `0` */
  readonly clearFor?: number;
  /** The alert's severity. @defaultValue `'warning'` */
  readonly severity?: Severity;
  /** Disk metrics only: the mount points (picomatch globs) the rule applies to. @defaultValue every mount */
  readonly mount?: string | readonly string[];
  /** While firing, repeat the alert every this many ms (0: never). @defaultValue `0` */
  readonly remindEvery?: number;
}

/**
 * The default rules, reproducing the seed script's thresholds plus disk checks:
 * CPU > 80 % for 2 minutes (clears below 70 %), memory > 90 % for 1 minute (clears below
 * 85 %), disk space and inodes > 90 % on any mount (clear below 85 %).
 */
export const defaultResourceRules: readonly ResourceRule[] = Object.freeze([
  Object.freeze({ id: 'cpu.high', metric: 'cpu', above: 80, for: 120_000, clearBelow: 70, severity: 'warning' } as const),
  Object.freeze({ id: 'memory.high', metric: 'memory', above: 90, for: 60_000, clearBelow: 85, severity: 'warning' } as const),
  Object.freeze({ id: 'disk.space', metric: 'disk.space', above: 90, for: 0, clearBelow: 85, severity: 'warning' } as const),
  Object.freeze({ id: 'disk.inodes', metric: 'disk.inodes', above: 90, for: 0, clearBelow: 85, severity: 'warning' } as const),
]);

/** A rule with every default filled in. @internal */
export interface ResolvedRule {
  readonly id: string;
  readonly metric: ResourceMetric;
  readonly above: number;
  readonly for: number;
  readonly clearBelow: number;
  readonly clearFor: number;
  readonly severity: Severity;
  readonly mount: readonly string[];
  readonly matchMount: ((mount: string) => boolean) | undefined;
  readonly remindEvery: number;
}

/** The default id of a rule on `metric`. @internal */
export function defaultRuleId(metric: ResourceMetric): string {
  return isDiskMetric(metric) ? metric : `${metric}.high`;
}

/** Validates and resolves the `rules` option. @internal */
export function resolveRules(rules: readonly ResourceRule[]): ResolvedRule[] {
  const seen = new Set<string>();
  return rules.map((rule, i) => {
    const at = `rules[${i}]`;
    if (typeof rule !== 'object' || rule === null) throw new InvalidOptionError(at, rule, 'a rule object');
    const metric = expectOneOf(`${at}.metric`, rule.metric, RESOURCE_METRICS);
    const above = expectNumber(`${at}.above`, rule.above);
    const id = rule.id === undefined ? defaultRuleId(metric) : expectString(`${at}.id`, rule.id);
    if (seen.has(id)) {
      throw new InvalidOptionError(`${at}.id`, id, 'a rule id not used by another rule (give each rule on the same metric its own `id`)');
    }
    seen.add(id);
    const clearBelow = rule.clearBelow === undefined ? above * 0.9 : expectNumber(`${at}.clearBelow`, rule.clearBelow, { max: above });
    let mount: string[] = [];
    if (rule.mount !== undefined) {
      if (!isDiskMetric(metric)) throw new InvalidOptionError(`${at}.mount`, rule.mount, `absent: metric '${metric}' has no mounts`);
      mount = typeof rule.mount === 'string' ? [rule.mount] : [...rule.mount];
      mount.forEach((m, j) => expectString(`${at}.mount[${j}]`, m));
    }
    return Object.freeze({
      id,
      metric,
      above,
      for: rule.for === undefined ? 0 : expectNumber(`${at}.for`, rule.for, { min: 0 }),
      clearBelow,
      clearFor: rule.clearFor === undefined ? 0 : expectNumber(`${at}.clearFor`, rule.clearFor, { min: 0 }),
      severity: rule.severity === undefined ? 'warning' : expectSeverity(`${at}.severity`, rule.severity),
      mount: Object.freeze(mount),
      matchMount: mount.length > 0 ? picomatch(mount, { dot: true }) : undefined,
      remindEvery: rule.remindEvery === undefined ? 0 : expectNumber(`${at}.remindEvery`, rule.remindEvery, { min: 0 }),
    });
  });
}

/** What a rule decided for one point. @internal */
export interface RuleTransition {
  readonly kind: 'firing' | 'reminder' | 'resolved';
  readonly rule: ResolvedRule;
  readonly point: MetricPoint;
  /** The value that caused the transition (the last seen one when the point vanished). */
  readonly value: number;
  /** When the condition started to hold (first sample above). */
  readonly since: number;
  /** The highest value seen while above. */
  readonly peak: number;
  /** For `resolved`: the point was no longer measured. */
  readonly gone?: boolean;
}

interface RuleState {
  phase: 'pending' | 'firing';
  point: MetricPoint;
  since: number;
  lastNotified: number;
  clearSince: number | undefined;
  missed: number;
  peak: number;
  last: number;
}

/** Samples a point may be missing (an unreadable mount) before its firing alert resolves. */
const MAX_MISSED = 3;

/** Runs every rule over each sample and reports what changed. @internal */
export class RuleEngine {
  readonly #rules: readonly ResolvedRule[];
  readonly #states = new Map<string, RuleState>();

  constructor(rules: readonly ResolvedRule[]) {
    this.#rules = rules;
  }

  /** Evaluates a sample taken at `time` (ms). */
  evaluate(sample: ResourceSample, time: number): RuleTransition[] {
    const out: RuleTransition[] = [];
    for (const rule of this.#rules) {
      const present = new Set<string>();
      for (const point of metricPoints(sample, rule.metric)) {
        if (rule.matchMount && (point.mount === undefined || !rule.matchMount(point.mount))) continue;
        const key = stateKey(rule, point.mount);
        present.add(key);
        const t = this.#step(rule, key, point, time);
        if (t) out.push(t);
      }
      // A point that stops being measured: keep its state through a few misses (a transient
      // read error must not resolve an alert), then let it go, resolving if it was firing.
      if (this.#states.size === 0) continue; // nothing pending or firing: the usual case
      const prefix = `${rule.id}\0`;
      for (const [key, state] of this.#states) {
        if (!key.startsWith(prefix) || present.has(key)) continue;
        if (++state.missed < MAX_MISSED) continue;
        this.#states.delete(key);
        if (state.phase === 'firing') out.push({ kind: 'resolved', rule, point: state.point, value: state.last, since: state.since, peak: state.peak, gone: true });
      }
    }
    return out;
  }

  #step(rule: ResolvedRule, key: string, point: MetricPoint, time: number): RuleTransition | undefined {
    const v = point.value;
    let state = this.#states.get(key);
    if (state === undefined) {
      if (!(v > rule.above)) return undefined;
      state = { phase: 'pending', point, since: time, lastNotified: time, clearSince: undefined, missed: 0, peak: v, last: v };
      this.#states.set(key, state);
    } else {
      state.missed = 0;
      state.point = point;
      state.last = v;
    }
    const base = { rule, point, value: v, since: state.since };
    if (state.phase === 'pending') {
      if (!(v > rule.above)) {
        this.#states.delete(key);
        return undefined;
      }
      state.peak = Math.max(state.peak, v);
      if (time - state.since >= rule.for) {
        state.phase = 'firing';
        state.lastNotified = time;
        return { kind: 'firing', ...base, peak: state.peak };
      }
      return undefined;
    }
    // Firing.
    if (v < rule.clearBelow) {
      state.clearSince ??= time;
      if (time - state.clearSince >= rule.clearFor) {
        this.#states.delete(key);
        return { kind: 'resolved', ...base, peak: state.peak };
      }
      return undefined;
    }
    state.clearSince = undefined;
    state.peak = Math.max(state.peak, v);
    if (rule.remindEvery > 0 && time - state.lastNotified >= rule.remindEvery) {
      state.lastNotified = time;
      return { kind: 'reminder', ...base, peak: state.peak };
    }
    return undefined;
  }
}

function stateKey(rule: ResolvedRule, mount: string | undefined): string {
  return `${rule.id}\0${mount ?? ''}`;
}
