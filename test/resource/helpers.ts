// Shared test helpers: an injected sample source fed by the test, and sample builders.
import type { DiskSample, ResourceReading, ResourceSampleSource } from '../../src/index.js';

/** A source whose next reading the test sets; it counts reads and can be made to fail. */
export class ScriptedSource implements ResourceSampleSource {
  readonly name = 'scripted';
  reading: ResourceReading = {};
  reads = 0;
  opened = 0;
  closed = 0;
  fail: Error | undefined;
  /** While true, a read does not answer until {@link ScriptedSource.release} is called. */
  hang = false;
  /** Lets the reads that hang answer (with the current reading). */
  release: (() => void) | undefined;

  async open(): Promise<void> {
    this.opened++;
  }

  async read(): Promise<ResourceReading> {
    this.reads++;
    if (this.hang) await new Promise<void>((resolve) => (this.release = resolve));
    if (this.fail) throw this.fail;
    return this.reading;
  }

  async close(): Promise<void> {
    this.closed++;
  }
}

/** A reading with the given CPU and memory percentages (and optional disks). */
export function reading(values: { cpu?: number; memory?: number; swap?: number; load?: number; disks?: Record<string, number | [number, number | null]> }): ResourceReading {
  const disks: DiskSample[] = Object.entries(values.disks ?? {}).map(([mount, v]) => {
    const [used, inodes] = Array.isArray(v) ? v : [v, 10];
    return {
      mount,
      fsType: 'ext4',
      device: `/dev/${mount === '/' ? 'root' : mount.replaceAll('/', '')}`,
      sizeBytes: 100e9,
      usedBytes: used * 1e9,
      availBytes: (100 - used) * 1e9,
      usedPercent: used,
      inodesTotal: 1000,
      inodesUsed: (inodes ?? 0) * 10,
      inodesUsedPercent: inodes,
    };
  });
  return {
    cpu:
      values.cpu === undefined ? null : { percent: values.cpu, user: values.cpu, system: 0, iowait: 0, steal: 0, idle: 100 - values.cpu, cores: 4, perCore: null, windowMs: 1000 },
    memory:
      values.memory === undefined ? null : { totalBytes: 8e9, availableBytes: 8e9 * (1 - values.memory / 100), usedBytes: 8e9 * (values.memory / 100), percent: values.memory },
    swap: values.swap === undefined ? null : { totalBytes: 1e9, usedBytes: values.swap * 1e7, percent: values.swap },
    load:
      values.load === undefined
        ? null
        : { one: values.load * 4, five: values.load * 4, fifteen: values.load * 4, cores: 4, onePerCore: values.load, fivePerCore: values.load, fifteenPerCore: values.load },
    disks,
    cgroup: null,
  };
}

/** Lets every pending promise callback run (the fake source answers at once). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
