// The metric names rules and anomaly detection speak, and how each is read off a sample.
import { displayPath } from '../core/text.js';
import type { ResourceSample } from './sample.js';

/**
 * What a rule or the anomaly detector watches.
 *
 * | metric | value | per |
 * | --- | --- | --- |
 * | `cpu` | busy % (the cgroup's CPU % of its quota when the sample's scope is `cgroup`) | host |
 * | `memory` | used % from MemAvailable (the cgroup's working set % of its limit in scope `cgroup`) | host |
 * | `host.cpu`, `host.memory` | as above, always the host's | host |
 * | `cgroup.cpu`, `cgroup.memory` | always the cgroup's (no value outside one) | host |
 * | `cpu.iowait`, `cpu.steal` | % of CPU time | host |
 * | `swap` | used % of swap (0 without swap) | host |
 * | `load`, `load5`, `load15` | 1/5/15-minute load average per CPU | host |
 * | `disk.space` | used % of space, as `df` shows it | mount |
 * | `disk.inodes` | used % of inodes | mount |
 */
export type ResourceMetric =
  'cpu' | 'memory' | 'host.cpu' | 'host.memory' | 'cgroup.cpu' | 'cgroup.memory' | 'cpu.iowait' | 'cpu.steal' | 'swap' | 'load' | 'load5' | 'load15' | 'disk.space' | 'disk.inodes';

/** Every {@link ResourceMetric}, in documentation order. */
export const RESOURCE_METRICS: readonly ResourceMetric[] = Object.freeze([
  'cpu',
  'memory',
  'host.cpu',
  'host.memory',
  'cgroup.cpu',
  'cgroup.memory',
  'cpu.iowait',
  'cpu.steal',
  'swap',
  'load',
  'load5',
  'load15',
  'disk.space',
  'disk.inodes',
] as const);

/** Whether a metric has one value per mount. @internal */
export function isDiskMetric(metric: ResourceMetric): boolean {
  return metric === 'disk.space' || metric === 'disk.inodes';
}

/** Whether a metric's value is a percentage (as opposed to load per CPU). @internal */
export function isPercentMetric(metric: ResourceMetric): boolean {
  return !metric.startsWith('load');
}

/** One value of a metric: for the host, or for one mount. @internal */
export interface MetricPoint {
  /** The mount point, or `undefined` for host-wide metrics. */
  readonly mount?: string;
  readonly value: number;
  /** Extra labels that identify the point (mount, fsType, device). */
  readonly labels: Readonly<Record<string, string>>;
}

// A host-wide metric as points: none when it was not measured. A module function, not a
// closure per call: metricPoints runs for every rule and anomaly metric on every sample.
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
function hostPoint(value: number | null | undefined): MetricPoint[] {
  return value === null || value === undefined || !Number.isFinite(value) ? [] : [{ value, labels: NO_LABELS }];
}

/** Reads a metric's values off a sample; empty when the sample did not measure it. @internal */
export function metricPoints(sample: ResourceSample, metric: ResourceMetric): MetricPoint[] {
  const cg = sample.scope === 'cgroup';
  switch (metric) {
    case 'cpu':
      return hostPoint(cg ? sample.cgroup?.cpu?.percent : sample.cpu?.percent);
    case 'memory':
      return hostPoint(cg ? sample.cgroup?.memory?.percent : sample.memory?.percent);
    case 'host.cpu':
      return hostPoint(sample.cpu?.percent);
    case 'host.memory':
      return hostPoint(sample.memory?.percent);
    case 'cgroup.cpu':
      return hostPoint(sample.cgroup?.cpu?.percent);
    case 'cgroup.memory':
      return hostPoint(sample.cgroup?.memory?.percent);
    case 'cpu.iowait':
      return hostPoint(sample.cpu?.iowait);
    case 'cpu.steal':
      return hostPoint(sample.cpu?.steal);
    case 'swap':
      return hostPoint(sample.swap?.percent);
    case 'load':
      return hostPoint(sample.load?.onePerCore);
    case 'load5':
      return hostPoint(sample.load?.fivePerCore);
    case 'load15':
      return hostPoint(sample.load?.fifteenPerCore);
    case 'disk.space':
    case 'disk.inodes':
      return sample.disks.flatMap((d) => {
        const value = metric === 'disk.space' ? d.usedPercent : d.inodesUsedPercent;
        if (value === null || !Number.isFinite(value)) return [];
        const labels: Record<string, string> = { mount: d.mount, fsType: d.fsType };
        if (d.device !== undefined) labels['device'] = d.device;
        return [{ mount: d.mount, value, labels }];
      });
  }
}

/** A human name for a metric, used in alert titles. @internal */
export function metricLabel(metric: ResourceMetric, mount?: string): string {
  switch (metric) {
    case 'cpu':
    case 'host.cpu':
      return 'CPU';
    case 'memory':
    case 'host.memory':
      return 'Memory';
    case 'cgroup.cpu':
      return 'Container CPU';
    case 'cgroup.memory':
      return 'Container memory';
    case 'cpu.iowait':
      return 'CPU iowait';
    case 'cpu.steal':
      return 'CPU steal';
    case 'swap':
      return 'Swap';
    case 'load':
      return 'Load (1m per CPU)';
    case 'load5':
      return 'Load (5m per CPU)';
    case 'load15':
      return 'Load (15m per CPU)';
    case 'disk.space':
      return `Disk space on ${displayPath(mount ?? '?', { max: 200 })}`;
    case 'disk.inodes':
      return `Inodes on ${displayPath(mount ?? '?', { max: 200 })}`;
  }
}

/** A value with its unit, e.g. `93.2 %` or `2.40`. @internal */
export function formatValue(metric: ResourceMetric, value: number): string {
  return isPercentMetric(metric) ? `${value.toFixed(1)} %` : value.toFixed(2);
}
