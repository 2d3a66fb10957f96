// The process's control group, v2 (unified) or v1, so that inside a container "90 %
// memory" means 90 % of the container's limit. File names: the kernel's cgroup-v2.rst
// and cgroup-v1/memory.rst, cpu (CFS bandwidth) and cpuacct docs.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IoError } from '../core/errors.js';
import { round } from './procfs.js';
import type { CgroupCpuSample, CgroupMemorySample, CgroupSample } from './sample.js';

/** Where the group's files are, found once at start. @internal */
export interface CgroupLayout {
  readonly version: 1 | 2;
  readonly path: string;
  /** Directories holding memory files, the process's group first, then its ancestors. */
  readonly memoryDirs: readonly string[];
  /** Directories holding CPU quota files, the group first, then its ancestors. */
  readonly cpuDirs: readonly string[];
  /** The directory whose usage counter is read (v1: cpuacct; v2: the group). */
  readonly cpuUsageDir: string | undefined;
}

// Above this a v1 limit means "no limit" (the kernel reports PAGE_COUNTER_MAX rounded).
const UNLIMITED = 2 ** 60;

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads a whole file as text, throwing an {@link IoError}. @internal */
export type TextReader = (path: string) => Promise<string>;

/**
 * The chain of directories from the group up to the hierarchy's mount root. A group's
 * effective limit is the smallest along it. Only directories that hold `probe` count,
 * which also handles containers whose /sys/fs/cgroup is already their own group.
 */
async function chain(mountRoot: string, groupPath: string, probe: string): Promise<string[]> {
  const dirs: string[] = [];
  const parts = groupPath.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
  for (let i = parts.length; i >= 0; i--) {
    const dir = join(mountRoot, ...parts.slice(0, i));
    if (await exists(join(dir, probe))) dirs.push(dir);
  }
  return dirs;
}

/**
 * Finds the process's cgroup from `<procRoot>/self/cgroup` and the hierarchy under
 * `<sysRoot>/fs/cgroup`; `undefined` when there is none to read. @internal
 */
export async function detectCgroup(procRoot: string, sysRoot: string): Promise<CgroupLayout | undefined> {
  let text: string;
  try {
    text = await readFile(join(procRoot, 'self', 'cgroup'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const base = join(sysRoot, 'fs', 'cgroup');
  const entries = lines.map((l) => {
    const first = l.indexOf(':');
    const second = l.indexOf(':', first + 1);
    return {
      controllers: l
        .slice(first + 1, second)
        .split(',')
        .filter(Boolean),
      path: l.slice(second + 1),
    };
  });
  const v1Memory = entries.find((e) => e.controllers.includes('memory'));
  const unified = entries.find((e) => e.controllers.length === 0);
  if (unified && !v1Memory && (await exists(join(base, 'cgroup.controllers')))) {
    const memoryDirs = await chain(base, unified.path, 'memory.max');
    const cpuDirs = await chain(base, unified.path, 'cpu.max');
    const usage = (await chain(base, unified.path, 'cpu.stat'))[0];
    return { version: 2, path: unified.path, memoryDirs, cpuDirs, cpuUsageDir: usage };
  }
  if (!v1Memory) return undefined;
  const memoryDirs = await chain(join(base, 'memory'), v1Memory.path, 'memory.limit_in_bytes');
  const cpuEntry = entries.find((e) => e.controllers.includes('cpu'));
  const acctEntry = entries.find((e) => e.controllers.includes('cpuacct'));
  let cpuDirs: string[] = [];
  let cpuUsageDir: string | undefined;
  if (cpuEntry) {
    for (const name of [cpuEntry.controllers.join(','), 'cpu', 'cpu,cpuacct']) {
      cpuDirs = await chain(join(base, name), cpuEntry.path, 'cpu.cfs_quota_us');
      if (cpuDirs.length > 0) break;
    }
  }
  if (acctEntry) {
    for (const name of [acctEntry.controllers.join(','), 'cpuacct', 'cpu,cpuacct']) {
      cpuUsageDir = (await chain(join(base, name), acctEntry.path, 'cpuacct.usage'))[0];
      if (cpuUsageDir !== undefined) break;
    }
  }
  return { version: 1, path: v1Memory.path, memoryDirs, cpuDirs, cpuUsageDir };
}

function parseNumber(text: string, path: string): number {
  const v = Number(text.trim());
  if (!Number.isFinite(v)) throw new IoError(`Unexpected content in ${path}: ${JSON.stringify(text.slice(0, 60))}`, { path });
  return v;
}

function statField(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The group's effective memory limit (the smallest along its path), or `null` when unlimited. @internal */
export async function readCgroupMemoryLimit(layout: CgroupLayout, readText: TextReader): Promise<number | null> {
  const limitFile = layout.version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
  const limits = await Promise.all(layout.memoryDirs.map((d) => readText(join(d, limitFile))));
  let limit: number | null = null;
  limits.forEach((text, i) => {
    if (text.trim() === 'max') return;
    const v = parseNumber(text, join(layout.memoryDirs[i] ?? '', limitFile));
    if (v < UNLIMITED && (limit === null || v < limit)) limit = v;
  });
  return limit;
}

/** The group's memory usage and working set, or `null` without a memory controller. @internal */
export async function readCgroupMemoryUsage(layout: CgroupLayout, readText: TextReader): Promise<{ usageBytes: number; workingSetBytes: number } | null> {
  const leaf = layout.memoryDirs[0];
  if (leaf === undefined) return null;
  const v2 = layout.version === 2;
  const usagePath = join(leaf, v2 ? 'memory.current' : 'memory.usage_in_bytes');
  const [usageText, statText] = await Promise.all([readText(usagePath), readText(join(leaf, 'memory.stat'))]);
  const usage = parseNumber(usageText, usagePath);
  const inactive = statField(statText, v2 ? 'inactive_file' : 'total_inactive_file') ?? 0;
  return { usageBytes: usage, workingSetBytes: Math.max(usage - inactive, 0) };
}

/** Combines usage and limit into a {@link CgroupMemorySample}. @internal */
export function cgroupMemory(usage: { usageBytes: number; workingSetBytes: number }, limit: number | null, hostTotalBytes: number): CgroupMemorySample {
  const denominator = limit ?? hostTotalBytes;
  return { limitBytes: limit, ...usage, percent: denominator > 0 ? round((usage.workingSetBytes / denominator) * 100) : 0 };
}

/** The group's CPU quota in CPUs, or `null` when unlimited. @internal */
export async function readCgroupCpuLimit(layout: CgroupLayout, readText: TextReader): Promise<number | null> {
  let limit: number | null = null;
  for (const dir of layout.cpuDirs) {
    let quota: number;
    let period: number;
    if (layout.version === 2) {
      const [q, p] = (await readText(join(dir, 'cpu.max'))).trim().split(/\s+/);
      if (q === 'max' || q === undefined) continue;
      quota = Number(q);
      period = Number(p ?? 100000);
    } else {
      const [q, p] = await Promise.all([readText(join(dir, 'cpu.cfs_quota_us')), readText(join(dir, 'cpu.cfs_period_us'))]);
      quota = Number(q.trim());
      period = Number(p.trim());
    }
    if (!(quota > 0) || !(period > 0)) continue;
    const cpus = quota / period;
    if (limit === null || cpus < limit) limit = cpus;
  }
  return limit;
}

/** Cumulative CPU time the group used, in microseconds. @internal */
export async function readCgroupCpuUsage(layout: CgroupLayout, readText: TextReader): Promise<number | null> {
  const dir = layout.cpuUsageDir;
  if (dir === undefined) return null;
  if (layout.version === 2) {
    const path = join(dir, 'cpu.stat');
    const usec = statField(await readText(path), 'usage_usec');
    if (usec === undefined) throw new IoError(`No usage_usec in ${path}`, { path });
    return usec;
  }
  const path = join(dir, 'cpuacct.usage');
  return parseNumber(await readText(path), path) / 1000;
}

/** CPU use between two usage readings. @internal */
export function cgroupCpuDelta(prevUsec: number, nextUsec: number, windowMs: number, limitCpus: number | null, hostCores: number): CgroupCpuSample | null {
  const used = nextUsec - prevUsec;
  if (used < 0 || windowMs <= 0) return null;
  const usageCpus = used / (windowMs * 1000);
  const of = limitCpus ?? Math.max(hostCores, 1);
  return { limitCpus, usageCpus: round(usageCpus, 3), percent: round((usageCpus / of) * 100), windowMs: round(windowMs, 1) };
}

/** Assembles a {@link CgroupSample}. @internal */
export function cgroupSample(layout: CgroupLayout, memory: CgroupMemorySample | null, cpu: CgroupCpuSample | null): CgroupSample {
  return { version: layout.version, path: layout.path, memory, cpu };
}
