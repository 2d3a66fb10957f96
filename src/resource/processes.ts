import { sleep } from '../core/clock.js';
import { loadSystemInformation } from './systeminformation-source.js';
import { formatBytes } from '../core/format.js';
import { safeText } from '../core/text.js';

/** One process as named in a CPU or memory alert. */
export interface ProcessInfo {
  /** Process id. */
  readonly pid: number;
  /** Executable name. */
  readonly name: string;
  /** CPU use, % of one CPU (as `ps` and `top` show it). */
  readonly cpuPercent: number;
  /** Resident memory, in bytes. */
  readonly memoryBytes: number;
  /** Resident memory as a % of host memory. */
  readonly memoryPercent: number;
}

/** Lists processes; called only when a CPU or memory alert fires. */
export type ProcessLister = () => Promise<readonly ProcessInfo[]>;

/**
 * The default {@link ProcessLister}: systeminformation's `processes()`, called twice 500 ms
 * apart, because its first answer averages CPU over each process's whole life and only the
 * second measures what is happening now. It may start `ps`, which is why the monitor calls
 * it only when an alert fires, never per sample.
 */
export const systemInformationProcesses: ProcessLister = async () => {
  const si = await loadSystemInformation();
  await si.processes();
  await sleep(500, { persistent: true });
  const data = await si.processes();
  return data.list.map((p) => ({ pid: p.pid, name: p.name, cpuPercent: p.cpu, memoryBytes: p.memRss * 1024, memoryPercent: p.mem }));
};

/** The top `count` processes by CPU or by memory. @internal */
export function topProcesses(list: readonly ProcessInfo[], by: 'cpu' | 'memory', count: number): ProcessInfo[] {
  const key = by === 'cpu' ? (p: ProcessInfo) => p.cpuPercent : (p: ProcessInfo) => p.memoryBytes;
  return [...list].sort((a, b) => key(b) - key(a) || a.pid - b.pid).slice(0, count);
}

/** One line per process, for an alert's summary and evidence. @internal */
export function formatProcess(p: ProcessInfo): string {
  return `pid ${p.pid} ${safeText(p.name, { singleLine: true, max: 64 })}: CPU ${p.cpuPercent.toFixed(1)} %, memory ${formatBytes(p.memoryBytes)} (${p.memoryPercent.toFixed(1)} %)`;
}
