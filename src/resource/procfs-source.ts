import type { StatsFs } from 'node:fs';
import { statfs } from 'node:fs';
import { loadavg as osLoadavg } from 'node:os';
import { join } from 'node:path';
import { monotonicClock, schedule, type Clock } from '../core/clock.js';
import { IoError } from '../core/errors.js';
import { formatDuration } from '../core/format.js';
import {
  cgroupCpuDelta,
  cgroupMemory,
  cgroupSample,
  detectCgroup,
  readCgroupCpuLimit,
  readCgroupCpuUsage,
  readCgroupMemoryLimit,
  readCgroupMemoryUsage,
  type CgroupLayout,
} from './cgroup.js';
import { ProcFiles } from './proc-file.js';
import { parseMountinfo, parseProcMounts, selectMounts, type MountEntry, type MountSelector } from './mounts.js';
import { cpuDelta, loadSample, memoryFromMeminfo, parseLoadavg, parseMeminfo, parseProcStat, round, swapFromMeminfo, type CpuStat } from './procfs.js';
import type { CgroupSample, CpuSample, DiskSample, ResourceReading, ResourceSampleSource } from './sample.js';

const LIMITS_REFRESH_MS = 60_000;

// The value of a settled read, or null with its error collected.
function settled<T>(result: PromiseSettledResult<T>, errors: Error[]): T | null {
  if (result.status === 'fulfilled') return result.value;
  errors.push(result.reason instanceof Error ? result.reason : new Error(String(result.reason)));
  return null;
}
// The mount table changes rarely; re-reading it every sample was one of five thread-pool
// round trips per sample (the bulk of a sample's CPU). It is re-read after this long, and
// at the next sample after any statfs failure (a mount that went away).
const MOUNTS_REFRESH_MS = 30_000;

/** Which mounts the samplers measure. */
export interface MountFilterOptions {
  /**
   * Mount points (picomatch globs) to measure. When given, exactly these are measured,
   * whatever their file system type (so `/dev/shm` can be watched on purpose).
   * @defaultValue every real file system
   */
  readonly include?: readonly string[];
  /** Mount points (picomatch globs) never measured, e.g. `['/boot/efi', '/snap/**']`. @defaultValue `[]` */
  readonly exclude?: readonly string[];
  /** More file system types to skip, on top of the built-in pseudo file systems. @defaultValue `[]` */
  readonly excludeFsTypes?: readonly string[];
  /**
   * Measure network file systems (NFS, CIFS, Ceph…) too. Off by default: `statfs` on a
   * hung server ties up a libuv worker thread that the host service needs for its own I/O.
   * @defaultValue `false`
   */
  readonly network?: boolean;
}

/** Options of {@link ProcfsSampleSource}. */
export interface ProcfsSampleSourceOptions {
  /** Where procfs is mounted. @defaultValue `'/proc'` */
  readonly procRoot?: string;
  /** Where sysfs is mounted (cgroups are read under `<sysRoot>/fs/cgroup`). @defaultValue `'/sys'` */
  readonly sysRoot?: string;
  /** Which mounts to measure. */
  readonly mounts?: MountFilterOptions;
  /** Report busy % per CPU as well. @defaultValue `false` */
  readonly perCore?: boolean;
  /**
   * How long one `statfs` may take before the mount is reported as an error; the call is
   * not repeated for that mount until it returns. @defaultValue `5000`
   */
  readonly statfsTimeout?: number;
  /** Read cgroup files. @defaultValue `true` */
  readonly cgroup?: boolean;
  /**
   * The clock for CPU windows, in ms; only differences matter, so the default is
   * monotonic. @defaultValue `monotonicClock` (`performance.now()`)
   */
  readonly clock?: Clock;
  /** Replaces `fs.promises.statfs` (tests simulate a hung mount with it). @internal */
  readonly statfs?: (path: string) => Promise<StatsFs>;
}

/**
 * The Linux sampler: reads `/proc/stat`, `/proc/meminfo`, the load averages, the mount
 * table, `statfs(2)` per mount and the cgroup's files, all asynchronously. It starts no
 * process and does no synchronous I/O, so a sample never blocks the event loop.
 *
 * @example
 * const source = new ProcfsSampleSource({ perCore: true });
 * await source.open();
 * const reading = await source.read();
 */
export class ProcfsSampleSource implements ResourceSampleSource {
  /** Always `'procfs'`. */
  readonly name = 'procfs';
  readonly #procRoot: string;
  readonly #sysRoot: string;
  readonly #selector: MountSelector;
  readonly #perCore: boolean;
  readonly #statfsTimeout: number;
  readonly #useCgroup: boolean;
  readonly #now: () => number;
  readonly #statfsCall: (path: string) => Promise<StatsFs>;
  #layout: CgroupLayout | undefined;
  #detected: Promise<void> | undefined;
  #detectDone = false;
  #prevStat: { stat: CpuStat; at: number } | undefined;
  #prevCgroupUsage: { usec: number; at: number } | undefined;
  #mountSource: 'mountinfo' | 'mounts' = 'mountinfo';
  readonly #pendingStatfs = new Map<string, number>();
  readonly #files = new ProcFiles();
  readonly #paths = new Map<string, string>();
  #mounts: { text: string; selected: MountEntry[]; at: number } | undefined;
  #mountsStale = false;
  readonly #readText = (path: string): Promise<string> => this.#files.read(path);
  #limits: { memory: number | null; cpus: number | null; at: number } | undefined;

  constructor(options: ProcfsSampleSourceOptions = {}) {
    this.#procRoot = options.procRoot ?? '/proc';
    this.#sysRoot = options.sysRoot ?? '/sys';
    this.#selector = {
      include: [...(options.mounts?.include ?? [])],
      exclude: [...(options.mounts?.exclude ?? [])],
      excludeFsTypes: [...(options.mounts?.excludeFsTypes ?? [])],
      network: options.mounts?.network ?? false,
    };
    this.#perCore = options.perCore ?? false;
    this.#statfsTimeout = options.statfsTimeout ?? 5000;
    this.#useCgroup = options.cgroup ?? true;
    this.#now = options.clock ?? monotonicClock;
    // The callback API: one promise per call instead of fs/promises' extra layers.
    // Numbers, not bigint: block and inode counts stay far below 2^53, and BigInt statfs
    // results cost an allocation per field every sample.
    this.#statfsCall = options.statfs ?? ((path) => new Promise((resolve, reject) => statfs(path, (error, stats) => (error ? reject(error) : resolve(stats)))));
  }

  /** Finds the cgroup and takes the first CPU reading, so the first `read()` has a window. */
  async open(): Promise<void> {
    await this.#detect();
    const at = this.#now();
    await this.#refreshLimits(at, []);
    const limited = this.#limited();
    const [stat, usage] = await Promise.allSettled([this.#readStat(), limited ? readCgroupCpuUsage(limited, this.#readText) : Promise.resolve(null)]);
    if (stat.status === 'fulfilled') this.#prevStat = { stat: stat.value, at };
    if (usage.status === 'fulfilled' && usage.value !== null) this.#prevCgroupUsage = { usec: usage.value, at };
  }

  /** Reads every metric once; partial failures are returned in `errors`. */
  async read(): Promise<ResourceReading> {
    // Each await is a trip through the microtask queue: skipped when there is nothing to wait for.
    if (!this.#detectDone) await this.#detect();
    const errors: Error[] = [];
    const at = this.#now();
    if (this.#limitsDue(at)) await this.#refreshLimits(at, errors);
    // A group without limits adds nothing to the host's numbers: its files are not read.
    const limited = this.#limited();
    const [stat, meminfo, loadavg, disks, cgroupUsage, cgroupMemory] = await Promise.allSettled([
      this.#readStat(),
      this.#read('meminfo').then((t) => parseMeminfo(t, this.#path('meminfo'))),
      this.#readLoadavg(),
      this.#readDisks(at, errors),
      limited ? readCgroupCpuUsage(limited, this.#readText) : Promise.resolve(null),
      limited ? readCgroupMemoryUsage(limited, this.#readText) : Promise.resolve(null),
    ]);

    let cpu: CpuSample | null = null;
    const statValue = settled(stat, errors);
    if (statValue) {
      if (this.#prevStat) cpu = cpuDelta(this.#prevStat.stat, statValue, round(at - this.#prevStat.at, 1), this.#perCore);
      this.#prevStat = { stat: statValue, at };
    }
    const cores = statValue ? Math.max(statValue.cores.size, 1) : (cpu?.cores ?? 1);
    const mem = settled(meminfo, errors);
    const loads = settled(loadavg, errors);
    let load = null;
    if (loads !== null) {
      try {
        load = typeof loads === 'string' ? parseLoadavg(loads, cores, this.#path('loadavg')) : loadSample(loads, cores);
      } catch (error) {
        errors.push(error as Error);
      }
    }
    const memory = mem ? memoryFromMeminfo(mem) : null;
    const cgroup = limited ? this.#cgroup(limited, settled(cgroupUsage, errors), settled(cgroupMemory, errors), at, memory?.totalBytes ?? 0, cores) : null;
    if (!limited) this.#prevCgroupUsage = undefined;
    return {
      cpu,
      memory,
      swap: mem ? swapFromMeminfo(mem) : null,
      load,
      disks: settled(disks, errors) ?? [],
      cgroup,
      errors,
    };
  }

  /** Closes the files kept open between samples. */
  async close(): Promise<void> {
    await this.#files.close();
  }

  // Once, shared by concurrent callers: where the cgroup's files are does not change.
  #detect(): Promise<void> {
    this.#detected ??= (async () => {
      if (this.#useCgroup) this.#layout = await detectCgroup(this.#procRoot, this.#sysRoot);
      this.#detectDone = true;
    })();
    return this.#detected;
  }

  // Paths are joined once: this runs several times per sample.
  #path(name: string): string {
    let path = this.#paths.get(name);
    if (path === undefined) {
      path = join(this.#procRoot, name);
      this.#paths.set(name, path);
    }
    return path;
  }

  #read(name: string): Promise<string> {
    return this.#files.read(this.#path(name));
  }

  // The real /proc's load averages come from sysinfo(2) through os.loadavg(): the same
  // kernel numbers as /proc/loadavg (at full precision), from a system call that reads
  // kernel memory and never waits, so one thread-pool round trip per sample fewer. A
  // `procRoot` elsewhere (a fixture, a host's /proc mounted into a container) is read.
  #readLoadavg(): Promise<string | readonly number[]> {
    return this.#procRoot === '/proc' ? Promise.resolve(osLoadavg()) : this.#read('loadavg');
  }

  async #readStat(): Promise<CpuStat> {
    return parseProcStat(await this.#read('stat'), this.#path('stat'));
  }

  // The mount table is re-read every MOUNTS_REFRESH_MS (or after a statfs failure) and
  // parsed only when its text changed, which it rarely does.
  async #selectedMounts(at: number): Promise<MountEntry[]> {
    const cached = this.#mounts;
    if (cached && !this.#mountsStale && at >= cached.at && at - cached.at < MOUNTS_REFRESH_MS) return cached.selected;
    this.#mountsStale = false;
    const { text, parse } = await this.#mountTable();
    const selected = cached?.text === text ? cached.selected : selectMounts(parse(), this.#selector);
    this.#mounts = { text, selected, at };
    return selected;
  }

  async #mountTable(): Promise<{ text: string; parse: () => MountEntry[] }> {
    if (this.#mountSource === 'mountinfo') {
      try {
        const text = await this.#read('self/mountinfo');
        return { text, parse: () => parseMountinfo(text, this.#path('self/mountinfo')) };
      } catch (error) {
        // Kernels before 2.6.26 (and some chroots) only have /proc/mounts.
        if (!(error instanceof IoError) || error.errno !== 'ENOENT') throw error;
        this.#mountSource = 'mounts';
      }
    }
    const text = await this.#read('mounts');
    return { text, parse: () => parseProcMounts(text, this.#path('mounts')) };
  }

  async #readDisks(at: number, errors: Error[]): Promise<DiskSample[]> {
    const cached = this.#mounts;
    const fresh = cached && !this.#mountsStale && at >= cached.at && at - cached.at < MOUNTS_REFRESH_MS;
    const mounts = fresh ? cached.selected : await this.#selectedMounts(at);
    const results = await Promise.all(mounts.map((m) => this.#statfs(m, errors)));
    return results.filter((d): d is DiskSample => d !== null);
  }

  async #statfs(entry: MountEntry, errors: Error[]): Promise<DiskSample | null> {
    const pendingSince = this.#pendingStatfs.get(entry.mount);
    if (pendingSince !== undefined) {
      // A stable message, so the monitor reports a hung mount once rather than every sample.
      errors.push(new IoError(`statfs(${entry.mount}) still has not returned; mount skipped`, { path: entry.mount, syscall: 'statfs' }));
      return null;
    }
    this.#pendingStatfs.set(entry.mount, this.#now());
    const call = this.#statfsCall(entry.mount).finally(() => this.#pendingStatfs.delete(entry.mount));
    let cancel = (): void => {};
    const timeout = new Promise<'timeout'>((resolve) => {
      cancel = schedule(() => resolve('timeout'), this.#statfsTimeout);
    });
    try {
      const s = await Promise.race([call, timeout]);
      if (s === 'timeout') {
        call.catch(() => {});
        errors.push(new IoError(`statfs(${entry.mount}) timed out after ${formatDuration(this.#statfsTimeout)}`, { path: entry.mount, syscall: 'statfs' }));
        return null;
      }
      const bsize = s.bsize;
      const used = s.blocks > s.bfree ? s.blocks - s.bfree : 0;
      const usable = used + s.bavail;
      const inodesUsed = s.files > s.ffree ? s.files - s.ffree : 0;
      const disk: DiskSample = {
        mount: entry.mount,
        fsType: entry.fsType,
        ...(entry.device !== '' && entry.device !== 'none' ? { device: entry.device } : {}),
        sizeBytes: s.blocks * bsize,
        usedBytes: used * bsize,
        availBytes: s.bavail * bsize,
        usedPercent: usable > 0 ? round((used / usable) * 100) : 0,
        inodesTotal: s.files,
        inodesUsed,
        inodesUsedPercent: s.files > 0 ? round((inodesUsed / s.files) * 100) : null,
      };
      return disk;
    } catch (cause) {
      this.#mountsStale = true;
      errors.push(new IoError(`Cannot statfs mount ${entry.mount}`, { path: entry.mount, syscall: 'statfs', cause }));
      return null;
    } finally {
      cancel();
    }
  }

  // Limits change rarely (docker update, systemctl set-property): re-read them once a
  // minute rather than walking the group's ancestors every sample.
  #limitsDue(at: number): boolean {
    return this.#layout !== undefined && !(this.#limits && at - this.#limits.at < LIMITS_REFRESH_MS && at >= this.#limits.at);
  }

  async #refreshLimits(at: number, errors: Error[]): Promise<void> {
    const layout = this.#layout;
    if (!layout || !this.#limitsDue(at)) return;
    const [memory, cpus] = await Promise.allSettled([readCgroupMemoryLimit(layout, this.#readText), readCgroupCpuLimit(layout, this.#readText)]);
    if (memory.status === 'rejected') errors.push(memory.reason as Error);
    if (cpus.status === 'rejected') errors.push(cpus.reason as Error);
    // After a failure, try again next sample rather than in a minute.
    this.#limits = memory.status === 'fulfilled' && cpus.status === 'fulfilled' ? { memory: memory.value, cpus: cpus.value, at } : undefined;
  }

  #limited(): CgroupLayout | undefined {
    return this.#layout && this.#limits && (this.#limits.memory !== null || this.#limits.cpus !== null) ? this.#layout : undefined;
  }

  #cgroup(
    layout: CgroupLayout,
    usage: number | null,
    memoryUsage: { usageBytes: number; workingSetBytes: number } | null,
    at: number,
    hostTotal: number,
    hostCores: number,
  ): CgroupSample {
    const limitBytes = this.#limits?.memory ?? null;
    const limitCpus = this.#limits?.cpus ?? null;
    const mem = memoryUsage ? cgroupMemory(memoryUsage, limitBytes, hostTotal) : null;
    let cpu = null;
    if (usage !== null) {
      if (this.#prevCgroupUsage) cpu = cgroupCpuDelta(this.#prevCgroupUsage.usec, usage, at - this.#prevCgroupUsage.at, limitCpus, hostCores);
      this.#prevCgroupUsage = { usec: usage, at };
    }
    return cgroupSample(layout, mem, cpu);
  }
}
