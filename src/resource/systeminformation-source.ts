import { monotonicClock, type Clock } from '../core/clock.js';
import { cpus, loadavg } from 'node:os';
import { IoError } from '../core/errors.js';
import { selectMounts } from './mounts.js';
import type { MountFilterOptions } from './procfs-source.js';
import { round } from './procfs.js';
import type { CpuSample, DiskSample, LoadSample, ResourceReading, ResourceSampleSource } from './sample.js';

/**
 * systeminformation, loaded on first use: it is large, and on Linux the per-sample path
 * never needs it. (The module cache keeps one instance.) @internal
 */
export function loadSystemInformation(): Promise<typeof import('systeminformation')> {
  return import('systeminformation');
}

/** Options of {@link SystemInformationSampleSource}. */
export interface SystemInformationSampleSourceOptions {
  /** Which mounts to measure (matched on what `fsSize()` reports). */
  readonly mounts?: MountFilterOptions;
  /** Report busy % per CPU as well. @defaultValue `false` */
  readonly perCore?: boolean;
  /** The clock for CPU windows, in ms; only differences matter. @defaultValue `monotonicClock` (`performance.now()`) */
  readonly clock?: Clock;
}

/**
 * The portable sampler for hosts without `/proc` (macOS, the BSDs, Windows), built on
 * systeminformation's `currentLoad`, `mem` and `fsSize`. These start child processes
 * (`df`, `vm_stat`…) and some block the event loop, so it is never the default on Linux.
 * Inode use and cgroups are not available through it.
 */
export class SystemInformationSampleSource implements ResourceSampleSource {
  /** Always `'systeminformation'`. */
  readonly name = 'systeminformation';
  readonly #mounts: MountFilterOptions;
  readonly #perCore: boolean;
  readonly #now: () => number;
  #last: number | undefined;

  constructor(options: SystemInformationSampleSourceOptions = {}) {
    this.#mounts = options.mounts ?? {};
    this.#perCore = options.perCore ?? false;
    this.#now = options.clock ?? monotonicClock;
  }

  /** Primes systeminformation's CPU counters so the first `read()` covers a real window. */
  async open(): Promise<void> {
    const si = await loadSystemInformation();
    await si.currentLoad();
    this.#last = this.#now();
  }

  /** Reads CPU, memory, swap, load and disks through systeminformation. */
  async read(): Promise<ResourceReading> {
    const si = await loadSystemInformation();
    const errors: Error[] = [];
    const fail = (what: string) => (cause: unknown) => {
      errors.push(new IoError(`systeminformation ${what}() failed`, { syscall: what, cause }));
      return null;
    };
    const [load, mem, fs] = await Promise.all([si.currentLoad().catch(fail('currentLoad')), si.mem().catch(fail('mem')), si.fsSize().catch(fail('fsSize'))]);
    const at = this.#now();
    const windowMs = this.#last === undefined ? 0 : round(at - this.#last, 1);
    this.#last = at;
    const cores = Math.max(load?.cpus.length ?? cpus().length, 1);
    const cpu: CpuSample | null = load
      ? {
          percent: round(load.currentLoad),
          user: round(load.currentLoadUser + load.currentLoadNice),
          system: round(load.currentLoadSystem + load.currentLoadIrq),
          iowait: 0,
          steal: round(load.currentLoadSteal),
          idle: round(load.currentLoadIdle),
          cores,
          perCore: this.#perCore ? load.cpus.map((c) => round(c.load)) : null,
          windowMs,
        }
      : null;
    const [one = 0, five = 0, fifteen = 0] = loadavg();
    const loadSample: LoadSample = { one, five, fifteen, cores, onePerCore: round(one / cores, 3), fivePerCore: round(five / cores, 3), fifteenPerCore: round(fifteen / cores, 3) };
    let disks: DiskSample[] = [];
    if (fs) {
      const entries = fs.map((d) => ({ mount: d.mount, fsType: d.type, device: d.fs, devId: '', root: '/' }));
      const chosen = new Set(
        selectMounts(entries, {
          include: [...(this.#mounts.include ?? [])],
          exclude: [...(this.#mounts.exclude ?? [])],
          excludeFsTypes: [...(this.#mounts.excludeFsTypes ?? [])],
          network: this.#mounts.network ?? false,
        }).map((e) => e.mount),
      );
      disks = fs
        .filter((d) => chosen.has(d.mount))
        .map((d) => ({
          mount: d.mount,
          fsType: d.type,
          ...(d.fs ? { device: d.fs } : {}),
          sizeBytes: d.size,
          usedBytes: d.used,
          availBytes: d.available,
          usedPercent: round(d.use),
          inodesTotal: 0,
          inodesUsed: 0,
          inodesUsedPercent: null,
        }));
    }
    return {
      cpu,
      memory: mem
        ? { totalBytes: mem.total, availableBytes: mem.available, usedBytes: mem.total - mem.available, percent: round(((mem.total - mem.available) / mem.total) * 100) }
        : null,
      swap: mem ? { totalBytes: mem.swaptotal, usedBytes: mem.swapused, percent: mem.swaptotal > 0 ? round((mem.swapused / mem.swaptotal) * 100) : 0 } : null,
      load: loadSample,
      disks,
      cgroup: null,
      errors,
    };
  }
}
