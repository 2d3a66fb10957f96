/**
 * The shape of one resource sample: what was measured and when. A metrics exporter
 * can map every numeric field to a gauge; a group that was not measured is `null`
 * (never a made-up zero), so absent data stays distinguishable from an idle machine.
 */

/** Whose CPU and memory the `cpu` and `memory` rule metrics refer to. */
export type ResourceScope = 'host' | 'cgroup';

/**
 * CPU time over the window since the previous reading, from `/proc/stat` deltas.
 * All values are percentages of the window's total CPU time (0–100, all cores together).
 */
export interface CpuSample {
  /** Busy share: everything but `idle`, so it includes `iowait` and `steal`. */
  readonly percent: number;
  /** User time (including `nice`; guest time is already part of it in the kernel's counters). */
  readonly user: number;
  /** Kernel time, including hard and soft interrupts. */
  readonly system: number;
  /** Idle time while I/O the CPU waited on was outstanding. */
  readonly iowait: number;
  /** Time the hypervisor gave this virtual CPU to someone else. */
  readonly steal: number;
  /** Truly idle time. */
  readonly idle: number;
  /** How many CPUs the counters cover. */
  readonly cores: number;
  /** Busy % per CPU (`cpu0`, `cpu1`…), only when the `perCore` option is set; otherwise `null`. */
  readonly perCore: readonly number[] | null;
  /** Length of the window the percentages cover, in ms. */
  readonly windowMs: number;
}

/** Memory use from `/proc/meminfo`; "used" means not available, so page cache does not count. */
export interface MemorySample {
  /** `MemTotal`, in bytes. */
  readonly totalBytes: number;
  /** `MemAvailable` (estimated from free + reclaimable on kernels older than 3.14), in bytes. */
  readonly availableBytes: number;
  /** `totalBytes - availableBytes`. */
  readonly usedBytes: number;
  /** `usedBytes / totalBytes`, as a percentage. */
  readonly percent: number;
}

/** Swap use from `/proc/meminfo`. */
export interface SwapSample {
  /** `SwapTotal`, in bytes (0 when the host has no swap). */
  readonly totalBytes: number;
  /** `SwapTotal - SwapFree`, in bytes. */
  readonly usedBytes: number;
  /** `usedBytes / totalBytes` as a percentage; 0 when there is no swap. */
  readonly percent: number;
}

/** Load averages from `/proc/loadavg`, raw and divided by the number of CPUs. */
export interface LoadSample {
  /** 1-minute load average. */
  readonly one: number;
  /** 5-minute load average. */
  readonly five: number;
  /** 15-minute load average. */
  readonly fifteen: number;
  /** The CPU count the per-core values are divided by. */
  readonly cores: number;
  /** 1-minute load per CPU (1.0 = every CPU busy or waiting). */
  readonly onePerCore: number;
  /** 5-minute load per CPU. */
  readonly fivePerCore: number;
  /** 15-minute load per CPU. */
  readonly fifteenPerCore: number;
}

/** Space and inode use of one mounted file system, from `statfs(2)`, computed like `df`. */
export interface DiskSample {
  /** Where it is mounted, e.g. `/` or `/var/lib/postgresql`. */
  readonly mount: string;
  /** The file system type, e.g. `ext4`, `xfs`, `btrfs`. */
  readonly fsType: string;
  /** The mount source, e.g. `/dev/sda1`, when the mount table names one. */
  readonly device?: string;
  /** Total size, in bytes. */
  readonly sizeBytes: number;
  /** Used space (`blocks - bfree`), in bytes. */
  readonly usedBytes: number;
  /** Space available to unprivileged users (`bavail`), in bytes. */
  readonly availBytes: number;
  /** `used / (used + avail)`, as `df` computes it, so reserved blocks count as full. */
  readonly usedPercent: number;
  /** Total inodes; 0 on file systems without a fixed inode table (btrfs, some network fs). */
  readonly inodesTotal: number;
  /** Inodes in use. */
  readonly inodesUsed: number;
  /** `inodesUsed / inodesTotal` as a percentage, or `null` when the fs reports no inode table. */
  readonly inodesUsedPercent: number | null;
}

/** The memory side of a control group. */
export interface CgroupMemorySample {
  /** The limit (`memory.max` / `memory.limit_in_bytes`) in bytes, or `null` when unlimited. */
  readonly limitBytes: number | null;
  /** What the kernel charges to the group (`memory.current` / `memory.usage_in_bytes`). */
  readonly usageBytes: number;
  /** Usage minus inactive page cache: what the OOM killer and `docker stats` look at. */
  readonly workingSetBytes: number;
  /** `workingSetBytes` as a percentage of the limit (of host memory when unlimited). */
  readonly percent: number;
}

/** The CPU side of a control group. */
export interface CgroupCpuSample {
  /** The quota in CPUs (`cpu.max` quota / period), or `null` when unlimited. */
  readonly limitCpus: number | null;
  /** CPUs used on average over the window (1.5 = one and a half CPUs busy). */
  readonly usageCpus: number;
  /** `usageCpus` as a percentage of the limit (of all host CPUs when unlimited). */
  readonly percent: number;
  /** Length of the window, in ms. */
  readonly windowMs: number;
}

/** The control group this process runs in, measured against its own limits. */
export interface CgroupSample {
  /** Which cgroup hierarchy was read. */
  readonly version: 1 | 2;
  /** The group's path, from `/proc/self/cgroup`, e.g. `/system.slice/app.service`. */
  readonly path: string;
  /** Memory limit and usage, or `null` when the memory controller is not readable. */
  readonly memory: CgroupMemorySample | null;
  /** CPU quota and usage; `null` when unreadable or on the first reading (no window yet). */
  readonly cpu: CgroupCpuSample | null;
}

/**
 * What a {@link ResourceSampleSource} read: every group optional, `null` when it could
 * not be measured. The monitor stamps the time and hostname.
 */
export interface ResourceReading {
  /** CPU over the window since the previous reading (`null` on the first). */
  readonly cpu?: CpuSample | null;
  /** Memory use. */
  readonly memory?: MemorySample | null;
  /** Swap use. */
  readonly swap?: SwapSample | null;
  /** Load averages. */
  readonly load?: LoadSample | null;
  /** One entry per file system that was measured. */
  readonly disks?: readonly DiskSample[];
  /** The control group, when the process runs in one with limits. */
  readonly cgroup?: CgroupSample | null;
  /**
   * Failures that cost part of the reading (a vanished mount, an unreadable file); the
   * monitor emits each as an `'error'` event and uses the rest.
   */
  readonly errors?: readonly Error[];
}

/**
 * One sample: what the monitor measured, when, and on which host. This is the payload of
 * the `'sample'` event and the input of rules and anomaly detection.
 */
export interface ResourceSample {
  /** When the sample was taken (the monitor's clock). */
  readonly time: Date;
  /** The host it was taken on. */
  readonly hostname: string;
  /** Which sampler produced it: `'procfs'`, `'systeminformation'` or a custom source's name. */
  readonly source: string;
  /**
   * Whose CPU and memory the rule metrics `cpu` and `memory` use: the host's, or the
   * container's cgroup (then 90 % memory means 90 % of the container's limit).
   */
  readonly scope: ResourceScope;
  /** Host CPU over the window since the previous sample; `null` on the first sample. */
  readonly cpu: CpuSample | null;
  /** Host memory. */
  readonly memory: MemorySample | null;
  /** Host swap. */
  readonly swap: SwapSample | null;
  /** Load averages. */
  readonly load: LoadSample | null;
  /** Every real file system that was measured. */
  readonly disks: readonly DiskSample[];
  /**
   * The process's control group, measured against its limits; `null` unless the group has a
   * memory limit or CPU quota (a container, a limited systemd unit) or when it is unreadable.
   */
  readonly cgroup: CgroupSample | null;
}

/** Where samples come from. The monitor picks `/proc` on Linux; tests inject their own. */
export interface ResourceSampleSource {
  /** A short name recorded in each sample's `source` field. */
  readonly name: string;
  /**
   * Called once by `start()`: detect what is there and take the first CPU reading, so the
   * first sample already has a window.
   */
  open?(): Promise<void>;
  /** Reads everything once. Throwing fails this sample only (an `'error'` event). */
  read(): Promise<ResourceReading>;
  /** Called once by `stop()`. */
  close?(): Promise<void>;
}
