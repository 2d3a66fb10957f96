// Anomaly detection: a learned baseline per metric (exponentially weighted mean and
// variance) that flags sharp departures. A fixed threshold says "90 % is too much"; this
// says "CPU is at 60 % and it is never above 25 % at this point".
import { InvalidOptionError } from '../core/errors.js';
import type { Severity } from '../core/severity.js';
import { expectArray, expectNumber, expectOneOf, expectSeverity } from '../core/validate.js';
import { isPercentMetric, metricPoints, RESOURCE_METRICS, type MetricPoint, type ResourceMetric } from './metrics.js';
import type { ResourceSample } from './sample.js';

/**
 * How the anomaly detector learns and how sensitive it is. Counts are in samples, so
 * the time they span scales with the monitor's `interval`.
 */
export interface AnomalyOptions {
  /** The metrics to learn. @defaultValue `['cpu', 'memory', 'load']` */
  readonly metrics?: readonly ResourceMetric[];
  /**
   * Weight of each new sample in the baseline (EWMA alpha): 0.05 means the baseline
   * forgets half of what it knew in about 14 samples.
   * @defaultValue `0.05`
   */
  readonly alpha?: number;
  /** Samples learned before any alert (the warm-up). @defaultValue `30` */
  readonly warmup?: number;
  /** A departure counts when it exceeds this many standard deviations of the baseline… @defaultValue `4` */
  readonly zScore?: number;
  /**
   * …and also this absolute amount (percentage points, or load per CPU for `load*`), so a
   * very steady metric does not alert on a tiny wobble. A number applies to every metric.
   * @defaultValue `15` for % metrics, `0.5` for load
   */
  readonly minDelta?: number | Readonly<Partial<Record<ResourceMetric, number>>>;
  /** Consecutive departing samples needed to fire, so one odd reading cannot. @defaultValue `2` */
  readonly consecutive?: number;
  /**
   * The alert resolves when the value is back within this many standard deviations
   * (or within half of `minDelta`) of the baseline. @defaultValue `2`
   */
  readonly clearZScore?: number;
  /**
   * After this many samples firing, the new level is accepted as normal: the baseline
   * is re-learned from them and the alert resolves. A step change alerts once, then adapts.
   * @defaultValue `30`
   */
  readonly adaptAfter?: number;
  /** Severity of `anomaly.<metric>` alerts. @defaultValue `'warning'` */
  readonly severity?: Severity;
}

/** Anomaly options with every default filled in. @internal */
export interface ResolvedAnomaly {
  readonly metrics: readonly ResourceMetric[];
  readonly alpha: number;
  readonly warmup: number;
  readonly zScore: number;
  readonly minDelta: (metric: ResourceMetric) => number;
  readonly consecutive: number;
  readonly clearZScore: number;
  readonly adaptAfter: number;
  readonly severity: Severity;
}

/** Validates the `anomaly` option; `undefined` when it is off. @internal */
export function resolveAnomaly(option: boolean | AnomalyOptions | undefined): ResolvedAnomaly | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null)) {
    throw new InvalidOptionError('anomaly', option, 'a boolean or an AnomalyOptions object');
  }
  const o: AnomalyOptions = option === true ? {} : option;
  const metrics: ResourceMetric[] =
    o.metrics === undefined ? ['cpu', 'memory', 'load'] : expectArray('anomaly.metrics', o.metrics).map((m, i) => expectOneOf(`anomaly.metrics[${i}]`, m, RESOURCE_METRICS));
  let minDelta: (metric: ResourceMetric) => number;
  const fallback = (m: ResourceMetric): number => (isPercentMetric(m) ? 15 : 0.5);
  if (o.minDelta === undefined) minDelta = fallback;
  else if (typeof o.minDelta === 'number') {
    const d = expectNumber('anomaly.minDelta', o.minDelta, { min: 0 });
    minDelta = () => d;
  } else if (typeof o.minDelta === 'object' && o.minDelta !== null) {
    const table = o.minDelta;
    for (const [k, v] of Object.entries(table)) {
      expectOneOf('anomaly.minDelta key', k, RESOURCE_METRICS);
      expectNumber(`anomaly.minDelta.${k}`, v, { min: 0 });
    }
    minDelta = (m) => table[m] ?? fallback(m);
  } else throw new InvalidOptionError('anomaly.minDelta', o.minDelta, 'a number or a per-metric object');
  const zScore = o.zScore === undefined ? 4 : expectNumber('anomaly.zScore', o.zScore, { min: 0 });
  return Object.freeze({
    metrics: Object.freeze([...new Set(metrics)]),
    alpha: o.alpha === undefined ? 0.05 : expectNumber('anomaly.alpha', o.alpha, { min: 0.001, max: 1 }),
    warmup: o.warmup === undefined ? 30 : expectNumber('anomaly.warmup', o.warmup, { min: 2, integer: true }),
    zScore,
    minDelta,
    consecutive: o.consecutive === undefined ? 2 : expectNumber('anomaly.consecutive', o.consecutive, { min: 1, integer: true }),
    clearZScore: o.clearZScore === undefined ? 2 : expectNumber('anomaly.clearZScore', o.clearZScore, { min: 0, max: zScore }),
    adaptAfter: o.adaptAfter === undefined ? 30 : expectNumber('anomaly.adaptAfter', o.adaptAfter, { min: 1, integer: true }),
    severity: o.severity === undefined ? 'warning' : expectSeverity('anomaly.severity', o.severity),
  });
}

/** A learned baseline of one series. @internal */
export interface Baseline {
  /** Samples learned. */
  n: number;
  mean: number;
  variance: number;
}

/** What the detector decided for one point. @internal */
export interface AnomalyTransition {
  readonly kind: 'firing' | 'resolved';
  readonly metric: ResourceMetric;
  readonly point: MetricPoint;
  readonly value: number;
  /** The baseline the value was compared with (before any adaptation). */
  readonly mean: number;
  readonly stdDev: number;
  /** Signed distance from the mean in standard deviations (±Infinity when the baseline is flat). */
  readonly z: number;
  /** For `resolved`: the new level was accepted as the baseline rather than the value returning. */
  readonly adapted?: boolean;
}

interface Series {
  baseline: Baseline;
  phase: 'normal' | 'pending' | 'firing';
  outCount: number;
  /** Values seen while firing, to re-learn from when the new level persists. */
  held: number[];
  point: MetricPoint;
}

/**
 * Learns each metric's baseline with an exponentially weighted mean and variance and
 * reports departures. Departing samples are not learned (a spike must not drag the
 * baseline toward itself), which is why a lasting step needs `adaptAfter`. @internal
 */
export class AnomalyDetector {
  readonly #o: ResolvedAnomaly;
  readonly #series = new Map<string, Series>();

  constructor(options: ResolvedAnomaly) {
    this.#o = options;
  }

  /** The learned baseline of a metric (and mount), for inspection. */
  baseline(metric: ResourceMetric, mount?: string): Readonly<Baseline> | undefined {
    const s = this.#series.get(`${metric}\0${mount ?? ''}`);
    return s ? { ...s.baseline } : undefined;
  }

  /** Feeds one sample. */
  evaluate(sample: ResourceSample): AnomalyTransition[] {
    const out: AnomalyTransition[] = [];
    for (const metric of this.#o.metrics) {
      for (const point of metricPoints(sample, metric)) {
        const t = this.#step(metric, point);
        if (t) out.push(t);
      }
    }
    return out;
  }

  #step(metric: ResourceMetric, point: MetricPoint): AnomalyTransition | undefined {
    const key = `${metric}\0${point.mount ?? ''}`;
    const x = point.value;
    let s = this.#series.get(key);
    if (!s) {
      s = { baseline: { n: 0, mean: x, variance: 0 }, phase: 'normal', outCount: 0, held: [], point };
      this.#series.set(key, s);
    }
    s.point = point;
    const b = s.baseline;
    if (b.n < this.#o.warmup) {
      learn(b, x, this.#o.alpha);
      return undefined;
    }
    const o = this.#o;
    const std = Math.sqrt(b.variance);
    const dev = x - b.mean;
    const z = std > 0 ? dev / std : dev === 0 ? 0 : Math.sign(dev) * Infinity;
    const minDelta = o.minDelta(metric);
    const info = { metric, point, value: x, mean: b.mean, stdDev: std, z };

    if (s.phase === 'firing') {
      if (Math.abs(dev) <= Math.max(o.clearZScore * std, minDelta / 2)) {
        s.phase = 'normal';
        s.held = [];
        learn(b, x, o.alpha);
        return { kind: 'resolved', ...info };
      }
      s.held.push(x);
      if (s.held.length >= o.adaptAfter) {
        // The new level has lasted: it is the baseline now.
        const mean = s.held.reduce((a, v) => a + v, 0) / s.held.length;
        const variance = s.held.reduce((a, v) => a + (v - mean) ** 2, 0) / s.held.length;
        s.baseline = { n: b.n + s.held.length, mean, variance: Math.max(variance, b.variance) };
        s.phase = 'normal';
        s.held = [];
        return { kind: 'resolved', ...info, adapted: true };
      }
      return undefined;
    }

    const departs = Math.abs(dev) > minDelta && Math.abs(dev) > o.zScore * std;
    if (!departs) {
      s.phase = 'normal';
      s.outCount = 0;
      learn(b, x, o.alpha);
      return undefined;
    }
    s.outCount++;
    if (s.outCount >= o.consecutive) {
      s.phase = 'firing';
      s.outCount = 0;
      s.held = [x];
      return { kind: 'firing', ...info };
    }
    s.phase = 'pending';
    return undefined;
  }
}

// West/Finch incremental EWMA mean and variance. During warm-up the weight is at least
// 1/n, so the first samples are averaged equally instead of the first one dominating.
function learn(b: Baseline, x: number, alpha: number): void {
  b.n++;
  const a = Math.max(alpha, 1 / b.n);
  const diff = x - b.mean;
  const incr = a * diff;
  b.mean += incr;
  b.variance = (1 - a) * (b.variance + diff * incr);
}
