import type { Gauge } from 'prom-client';
import type { Clock } from '../core/clock.js';
import { num, obj, pick, str } from './observed.js';

type MakeGauge = <L extends string>(name: string, help: string, labelNames: L[]) => Gauge<L>;

interface Scalar {
  readonly gauge: Gauge<string>;
  readonly read: (sample: unknown) => number | undefined;
}

/**
 * The latest ResourceMonitor sample as gauges. A group the monitor could not measure
 * (`null`) removes its gauges rather than leaving a stale value, and a mount that
 * disappeared from the sample disappears from the metrics.
 * @internal
 */
export class ResourceGauges {
  readonly #scalars: Scalar[];
  readonly #load: Gauge<'window'>;
  readonly #disk: Gauge<'mount' | 'fstype'>;
  readonly #diskBytes: Gauge<'mount' | 'fstype'>;
  readonly #diskUsedBytes: Gauge<'mount' | 'fstype'>;
  readonly #inodes: Gauge<'mount' | 'fstype'>;
  readonly #time: Gauge<string>;

  readonly #clock: Clock;

  constructor(gauge: MakeGauge, clock: Clock) {
    this.#clock = clock;
    // An unlabelled prom-client gauge reports 0 until set; before the first sample (or
    // when a group was not measured) there must be no value at all, not a made-up zero.
    const empty = <G extends Gauge<string>>(g: G): G => {
      g.remove({});
      return g;
    };
    const scalar = (name: string, help: string, read: (sample: unknown) => number | undefined): Scalar => ({
      gauge: empty(gauge(name, help, [])),
      read,
    });
    this.#scalars = [
      scalar('resource_cpu_percent', 'Host CPU busy %, all cores, over the last sampling window.', (s) => num(pick(s, 'cpu', 'percent')) ?? num(pick(s, 'cpu'))),
      scalar('resource_cpu_iowait_percent', 'Host CPU % spent idle waiting for I/O.', (s) => num(pick(s, 'cpu', 'iowait'))),
      scalar('resource_cpu_steal_percent', 'Host CPU % stolen by the hypervisor.', (s) => num(pick(s, 'cpu', 'steal'))),
      scalar('resource_memory_percent', 'Host memory used %, from MemAvailable (page cache does not count).', (s) => num(pick(s, 'memory', 'percent')) ?? num(pick(s, 'memory'))),
      scalar('resource_memory_used_bytes', 'Host memory used (total - available), in bytes.', (s) => num(pick(s, 'memory', 'usedBytes'))),
      scalar('resource_memory_total_bytes', 'Host memory total, in bytes.', (s) => num(pick(s, 'memory', 'totalBytes'))),
      scalar('resource_swap_percent', 'Swap used %.', (s) => num(pick(s, 'swap', 'percent')) ?? num(pick(s, 'swap'))),
      scalar('resource_cgroup_memory_percent', "The process's cgroup memory working set, % of its limit.", (s) => num(pick(s, 'cgroup', 'memory', 'percent'))),
      scalar('resource_cgroup_memory_limit_bytes', "The process's cgroup memory limit, in bytes (absent when unlimited).", (s) => num(pick(s, 'cgroup', 'memory', 'limitBytes'))),
      scalar('resource_cgroup_cpu_percent', "The process's cgroup CPU use, % of its quota.", (s) => num(pick(s, 'cgroup', 'cpu', 'percent'))),
      scalar('resource_cgroup_cpu_limit_cpus', "The process's cgroup CPU quota, in CPUs (absent when unlimited).", (s) => num(pick(s, 'cgroup', 'cpu', 'limitCpus'))),
    ];
    this.#load = gauge('resource_load_per_core', 'Load average divided by the number of CPUs, per window (1m, 5m, 15m).', ['window']);
    this.#disk = gauge('resource_disk_used_percent', 'File system space used %, computed like df (reserved blocks count as full).', ['mount', 'fstype']);
    this.#diskBytes = gauge('resource_disk_size_bytes', 'File system size, in bytes.', ['mount', 'fstype']);
    this.#diskUsedBytes = gauge('resource_disk_used_bytes', 'File system space used, in bytes.', ['mount', 'fstype']);
    this.#inodes = gauge('resource_disk_inodes_used_percent', 'File system inodes used % (absent without a fixed inode table).', ['mount', 'fstype']);
    this.#time = empty(gauge('resource_sample_timestamp_seconds', 'Unix time of the latest resource sample.', []));
  }

  /** Replaces every resource gauge with what this sample says. */
  update(sample: unknown): void {
    if (!obj(sample)) return;
    for (const { gauge, read } of this.#scalars) {
      const value = read(sample);
      if (value === undefined) gauge.remove({});
      else gauge.set(value);
    }
    const load = pick(sample, 'load');
    this.#load.reset();
    for (const [window, field] of [
      ['1m', 'onePerCore'],
      ['5m', 'fivePerCore'],
      ['15m', 'fifteenPerCore'],
    ] as const) {
      const value = num(pick(load, field));
      if (value !== undefined) this.#load.set({ window }, value);
    }
    for (const gauge of [this.#disk, this.#diskBytes, this.#diskUsedBytes, this.#inodes]) gauge.reset();
    const disks = pick(sample, 'disks');
    if (Array.isArray(disks)) {
      for (const disk of disks as unknown[]) {
        const mount = str(pick(disk, 'mount'));
        if (mount === undefined) continue;
        const labels = { mount, fstype: str(pick(disk, 'fsType')) ?? 'unknown' };
        setIfNumber(this.#disk, labels, pick(disk, 'usedPercent'));
        setIfNumber(this.#diskBytes, labels, pick(disk, 'sizeBytes'));
        setIfNumber(this.#diskUsedBytes, labels, pick(disk, 'usedBytes'));
        setIfNumber(this.#inodes, labels, pick(disk, 'inodesUsedPercent'));
      }
    }
    const time = pick(sample, 'time');
    this.#time.set((time instanceof Date && !Number.isNaN(time.getTime()) ? time.getTime() : this.#clock()) / 1000);
  }
}

function setIfNumber(gauge: Gauge<'mount' | 'fstype'>, labels: Record<'mount' | 'fstype', string>, value: unknown): void {
  const n = num(value);
  if (n !== undefined) gauge.set(labels, n);
}
