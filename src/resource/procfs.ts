// Parsers for the /proc files the Linux sampler reads. Pure functions over text so they
// can be tested on fixtures; the kernel's formats are documented in proc(5).
import { ParseError } from '../core/errors.js';
import type { CpuSample, LoadSample, MemorySample, SwapSample } from './sample.js';

/** Cumulative CPU counters of one `cpu` line of /proc/stat, in clock ticks. @internal */
export interface CpuTimes {
  readonly user: number;
  readonly nice: number;
  readonly system: number;
  readonly idle: number;
  readonly iowait: number;
  readonly irq: number;
  readonly softirq: number;
  readonly steal: number;
  /** Sum of the above: guest time is already inside user/nice, so it is not added again. */
  readonly total: number;
}

/** The aggregate line and the per-CPU lines of /proc/stat. @internal */
export interface CpuStat {
  readonly all: CpuTimes;
  readonly cores: ReadonlyMap<string, CpuTimes>;
}

/** Parses /proc/stat's `cpu` lines. @internal */
export function parseProcStat(text: string, source = '/proc/stat'): CpuStat {
  let all: CpuTimes | undefined;
  const cores = new Map<string, CpuTimes>();
  // The cpu lines come first; the rest (the long `intr` line…) is never split.
  let start = 0;
  while (start < text.length && text.startsWith('cpu', start)) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const fields = line.trim().split(/\s+/);
    const name = fields[0] ?? '';
    const n = fields.slice(1, 9).map(Number);
    // Kernels before 2.6.11 lack steal; anything shorter than user..idle is not /proc/stat.
    if (n.length < 4 || n.some((v) => !Number.isFinite(v) || v < 0)) {
      throw new ParseError(`Malformed CPU line in ${source}: ${JSON.stringify(line.slice(0, 120))}`, { source });
    }
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
    const times: CpuTimes = { user, nice, system, idle, iowait, irq, softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
    if (name === 'cpu') all = times;
    else if (/^cpu\d+$/.test(name)) cores.set(name, times);
  }
  if (!all) throw new ParseError(`No aggregate "cpu" line in ${source}`, { source });
  return { all, cores };
}

/**
 * CPU percentages between two readings, or `null` when the counters went backwards
 * (a CPU was hot-plugged, a counter wrapped) or no time passed. @internal
 */
export function cpuDelta(prev: CpuStat, next: CpuStat, windowMs: number, perCore: boolean): CpuSample | null {
  const d = diff(prev.all, next.all);
  if (!d) return null;
  const pct = (v: number): number => round((v / d.total) * 100);
  let cores: number[] | null = null;
  if (perCore) {
    cores = [];
    const names = [...next.cores.keys()].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
    for (const name of names) {
      const before = prev.cores.get(name);
      const after = next.cores.get(name);
      const dc = before && after ? diff(before, after) : null;
      cores.push(dc ? round(((dc.total - dc.idle) / dc.total) * 100) : 0);
    }
  }
  return {
    percent: pct(d.total - d.idle),
    user: pct(d.user + d.nice),
    system: pct(d.system + d.irq + d.softirq),
    iowait: pct(d.iowait),
    steal: pct(d.steal),
    idle: pct(d.idle),
    cores: Math.max(next.cores.size, 1),
    perCore: cores,
    windowMs,
  };
}

function diff(a: CpuTimes, b: CpuTimes): CpuTimes | null {
  const keys = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'total'] as const;
  const out = {} as Record<(typeof keys)[number], number>;
  for (const k of keys) {
    // iowait may go backwards on some kernels (documented in proc(5)); clamp instead of failing.
    const v = b[k] - a[k];
    out[k] = k === 'iowait' ? Math.max(v, 0) : v;
    if (out[k] < 0) return null;
  }
  if (out.total <= 0) return null;
  return out;
}

/** /proc/meminfo as a map from field to bytes. @internal */
export function parseMeminfo(text: string, source = '/proc/meminfo'): Map<string, number> {
  const fields = new Map<string, number>();
  // A plain scan: this runs every sample, and a regular expression per line costs more.
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      const rest = text.slice(colon + 1, end).trim();
      const kb = rest.endsWith(' kB');
      const value = Number(kb ? rest.slice(0, -3) : rest);
      if (rest !== '' && Number.isFinite(value) && value >= 0) fields.set(text.slice(start, colon), kb ? value * 1024 : value);
    }
    start = end + 1;
  }
  if (!fields.has('MemTotal')) throw new ParseError(`No MemTotal in ${source}`, { source });
  return fields;
}

/** Memory use from parsed /proc/meminfo. @internal */
export function memoryFromMeminfo(fields: ReadonlyMap<string, number>): MemorySample {
  const total = fields.get('MemTotal') ?? 0;
  // Kernels before 3.14 have no MemAvailable; this is the estimate `free` used then.
  const available = Math.min(
    fields.get('MemAvailable') ??
      (fields.get('MemFree') ?? 0) + (fields.get('Buffers') ?? 0) + (fields.get('Cached') ?? 0) + (fields.get('SReclaimable') ?? 0) - (fields.get('Shmem') ?? 0),
    total,
  );
  const used = Math.max(total - available, 0);
  return { totalBytes: total, availableBytes: available, usedBytes: used, percent: total > 0 ? round((used / total) * 100) : 0 };
}

/** Swap use from parsed /proc/meminfo. @internal */
export function swapFromMeminfo(fields: ReadonlyMap<string, number>): SwapSample {
  const total = fields.get('SwapTotal') ?? 0;
  const used = Math.max(total - (fields.get('SwapFree') ?? total), 0);
  return { totalBytes: total, usedBytes: used, percent: total > 0 ? round((used / total) * 100) : 0 };
}

/** Parses /proc/loadavg. @internal */
export function parseLoadavg(text: string, cores: number, source = '/proc/loadavg'): LoadSample {
  const [one, five, fifteen] = text.trim().split(/\s+/).slice(0, 3).map(Number);
  if (one === undefined || five === undefined || fifteen === undefined || ![one, five, fifteen].every((v) => Number.isFinite(v) && v >= 0)) {
    throw new ParseError(`Malformed ${source}: ${JSON.stringify(text.slice(0, 80))}`, { source });
  }
  const c = Math.max(cores, 1);
  return { one, five, fifteen, cores: c, onePerCore: round(one / c, 3), fivePerCore: round(five / c, 3), fifteenPerCore: round(fifteen / c, 3) };
}

/** Rounds to a fixed number of decimals, so samples stay readable in JSON and alerts. @internal */
export function round(value: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
