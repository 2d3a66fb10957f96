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
  const n: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  // The cpu lines come first; the rest (the long `intr` line…) is never looked at. This
  // runs every sample, so it scans characters: no split, no regular expression, no array
  // of substrings per line.
  let start = 0;
  while (start < text.length && text.startsWith('cpu', start)) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    let i = start + 3;
    while (i < end && isDigit(text.charCodeAt(i))) i++;
    const name = text.slice(start, i);
    let count = 0;
    let bad = i < end && !isBlank(text.charCodeAt(i));
    while (!bad && count < 8) {
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      if (i >= end) break;
      let value = 0;
      const first = i;
      while (i < end && isDigit(text.charCodeAt(i))) value = value * 10 + text.charCodeAt(i++) - 48;
      // A field that is not a plain count (`a`, `-1`, `1e3`) means this is not /proc/stat.
      if (i === first || (i < end && !isBlank(text.charCodeAt(i)))) bad = true;
      else n[count++] = value;
    }
    // Kernels before 2.6.11 lack steal; anything shorter than user..idle is not /proc/stat.
    if (bad || count < 4) throw new ParseError(`Malformed CPU line in ${source}: ${JSON.stringify(text.slice(start, Math.min(end, start + 120)))}`, { source });
    for (let k = count; k < 8; k++) n[k] = 0;
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
    const times: CpuTimes = { user, nice, system, idle, iowait, irq, softirq, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
    if (name === 'cpu') all = times;
    else if (name.length > 3) cores.set(name, times);
    start = end + 1;
  }
  if (!all) throw new ParseError(`No aggregate "cpu" line in ${source}`, { source });
  return { all, cores };
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 13;
}

/**
 * CPU percentages between two readings, or `null` when the counters went backwards
 * (a CPU was hot-plugged, a counter wrapped) or no time passed. @internal
 */
export function cpuDelta(prev: CpuStat, next: CpuStat, windowMs: number, perCore: boolean): CpuSample | null {
  const d = diff(prev.all, next.all);
  if (!d) return null;
  let cores: number[] | null = null;
  if (perCore) {
    cores = [];
    // /proc/stat lists CPUs in ascending order (offline ones are left out), so the names
    // need sorting only if a kernel ever did otherwise.
    let names: Iterable<string> = next.cores.keys();
    let last = -1;
    for (const name of next.cores.keys()) {
      const index = Number(name.slice(3));
      if (index < last) {
        names = [...next.cores.keys()].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
        break;
      }
      last = index;
    }
    for (const name of names) {
      const before = prev.cores.get(name);
      const after = next.cores.get(name);
      const dc = before && after ? diff(before, after) : null;
      cores.push(dc ? round(((dc.total - dc.idle) / dc.total) * 100) : 0);
    }
  }
  return {
    percent: percentOf(d.total - d.idle, d.total),
    user: percentOf(d.user + d.nice, d.total),
    system: percentOf(d.system + d.irq + d.softirq, d.total),
    iowait: percentOf(d.iowait, d.total),
    steal: percentOf(d.steal, d.total),
    idle: percentOf(d.idle, d.total),
    cores: Math.max(next.cores.size, 1),
    perCore: cores,
    windowMs,
  };
}

function percentOf(ticks: number, total: number): number {
  return round((ticks / total) * 100);
}

function diff(a: CpuTimes, b: CpuTimes): CpuTimes | null {
  // iowait may go backwards on some kernels (documented in proc(5)); clamp instead of failing.
  const out: CpuTimes = {
    user: b.user - a.user,
    nice: b.nice - a.nice,
    system: b.system - a.system,
    idle: b.idle - a.idle,
    iowait: Math.max(b.iowait - a.iowait, 0),
    irq: b.irq - a.irq,
    softirq: b.softirq - a.softirq,
    steal: b.steal - a.steal,
    total: b.total - a.total,
  };
  if (out.user < 0 || out.nice < 0 || out.system < 0 || out.idle < 0 || out.irq < 0 || out.softirq < 0 || out.steal < 0 || out.total <= 0) return null;
  return out;
}

/** /proc/meminfo as a map from field to bytes. @internal */
export function parseMeminfo(text: string, source = '/proc/meminfo'): Map<string, number> {
  const fields = new Map<string, number>();
  // A plain scan: this runs every sample, and a regular expression, trim or Number() per
  // line costs more. A value is digits, optionally followed by " kB".
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon > start && colon < end) {
      let i = colon + 1;
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      const first = i;
      let value = 0;
      while (i < end && isDigit(text.charCodeAt(i))) value = value * 10 + text.charCodeAt(i++) - 48;
      const digits = i > first;
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      const kb = text.startsWith('kB', i);
      if (kb) i += 2;
      while (i < end && isBlank(text.charCodeAt(i))) i++;
      if (digits && i === end) fields.set(text.slice(start, colon), kb ? value * 1024 : value);
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
  return loadSample([one, five, fifteen], cores);
}

/**
 * The load sample from the 1, 5 and 15 minute averages (as `os.loadavg()` returns them),
 * rounded to the two decimals /proc/loadavg shows. @internal
 */
export function loadSample(loads: readonly number[], cores: number): LoadSample {
  const [one = 0, five = 0, fifteen = 0] = loads.map((v) => round(v));
  const c = Math.max(cores, 1);
  return { one, five, fifteen, cores: c, onePerCore: round(one / c, 3), fivePerCore: round(five / c, 3), fifteenPerCore: round(fifteen / c, 3) };
}

/** Rounds to a fixed number of decimals, so samples stay readable in JSON and alerts. @internal */
export function round(value: number, decimals = 2): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}
