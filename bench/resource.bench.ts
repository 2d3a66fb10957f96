// ResourceMonitor's per-sample cost against the naive systeminformation sampler
// (`currentLoad` + `mem` + `fsSize`): processes spawned, CPU time (own and children's)
// and event-loop delay added. Run: npm run bench -- resource
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

// Count process creation by wrapping child_process before anything imports it:
// systeminformation binds `exec`/`execSync` when it loads, so the wrappers must come first.
const require = createRequire(import.meta.url);
const cp = require('node:child_process') as Record<string, unknown>;
let spawned = 0;
let depth = 0; // exec() calls execFile() through module.exports: count the outer call only
for (const name of ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']) {
  const original = cp[name] as (...args: unknown[]) => unknown;
  cp[name] = function (this: unknown, ...args: unknown[]) {
    if (depth === 0) spawned++;
    depth++;
    try {
      return original.apply(this, args);
    } finally {
      depth--;
    }
  };
}

const { ResourceMonitor } = await import('../src/index.js');
const si = await import('systeminformation');

// Children's CPU as the kernel accounts it: cutime + cstime of /proc/self/stat (fields 16, 17),
// in USER_HZ ticks (100 per second on Linux). Only children that were waited for count,
// which is every exec/execSync child.
function childrenCpuMs(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

// CPU time of the main thread alone (the event loop), in ns precision from schedstat: what
// a sample costs the host service's loop, as opposed to libuv's worker threads.
function mainThreadCpuMs(): number {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return Number.NaN;
  }
}

interface Result {
  name: string;
  samples: number;
  spawnedPerSample: number;
  ownCpuMs: number;
  ownCpuMedianMs: number;
  childCpuMs: number;
  wallMs: number;
  busyMs: number;
  p50: number;
  p99: number;
  max: number;
}

interface Sampler {
  name: string;
  perRound: number;
  take: () => Promise<unknown>;
  // Accumulated over the rounds:
  cpu: number[];
  wall: number;
  busy: number;
  spawned: number;
  children: number;
  // Loop delay recorded during this sampler's delay passes, accumulated across rounds.
  delay: RecordableHistogram;
}

const GAP_MS = 25;
const ROUNDS = 12;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// What monitorEventLoopDelay does, but into a histogram that can be paused without the
// pause itself being recorded as one huge delay: a 1 ms timer that records how late it fires.
function probeLoopDelay(histogram: RecordableHistogram): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    const due = performance.now() + 1;
    timer = setTimeout(() => {
      histogram.record(Math.max(1, Math.round((performance.now() - due) * 1e6)));
      if (!stopped) arm();
    }, 1);
  };
  arm();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// One block of samples, GAP_MS apart. CPU is measured per sample in one pass; event-loop
// delay in a second pass, because the 1 ms delay timer itself costs CPU.
async function block(s: Sampler): Promise<void> {
  const spawnedBefore = spawned;
  const childBefore = childrenCpuMs();
  const mainBefore = mainThreadCpuMs();
  for (let i = 0; i < s.perRound; i++) {
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    await s.take();
    s.wall += performance.now() - t0;
    const used = process.cpuUsage(cpu);
    s.cpu.push((used.user + used.system) / 1000);
    await sleep(GAP_MS);
  }
  s.busy += mainThreadCpuMs() - mainBefore;
  s.spawned += spawned - spawnedBefore;
  s.children += childrenCpuMs() - childBefore;
  const stopProbe = probeLoopDelay(s.delay);
  for (let i = 0; i < s.perRound; i++) {
    await s.take();
    await sleep(GAP_MS);
  }
  stopProbe();
}

function result(s: Sampler): Result {
  const n = s.cpu.length;
  const sorted = [...s.cpu].sort((a, b) => a - b);
  return {
    name: s.name,
    samples: n,
    spawnedPerSample: s.spawned / n,
    ownCpuMs: s.cpu.reduce((a, b) => a + b, 0) / n,
    ownCpuMedianMs: sorted[Math.floor(n / 2)] ?? Number.NaN,
    childCpuMs: s.children / n,
    wallMs: s.wall / n,
    busyMs: s.busy / n,
    p50: s.delay.percentile(50) / 1e6,
    p99: s.delay.percentile(99) / 1e6,
    max: s.delay.max / 1e6,
  };
}

// Default rules plus anomaly detection: the full per-sample path. No process listing: an alert
// that fired here (the bench itself loads the CPU) would start `ps`, which is alert-time cost.
const monitor = new ResourceMonitor({ anomaly: true, perCore: true, topProcesses: 0 });
monitor.on('error', (error) => console.error(`sample error: ${error.message}`));
await monitor.start();
const sampler = (name: string, perRound: number, take: () => Promise<unknown>): Sampler => ({ name, perRound, take, cpu: [], wall: 0, busy: 0, spawned: 0, children: 0, delay: createHistogram() });
const idleSampler = sampler('idle loop (baseline)', 20, async () => {});
const oursSampler = sampler('ResourceMonitor.sample() (procfs)', 20, () => monitor.sample());
const naiveSampler = sampler('systeminformation currentLoad+mem+fsSize', 5, () => Promise.all([si.currentLoad(), si.mem(), si.fsSize()]));
for (const s of [oursSampler, naiveSampler]) for (let i = 0; i < 3; i++) await s.take(); // warm-up
// Interleaved rounds, so a noisy neighbour on the machine hits every sampler alike.
for (let round = 0; round < ROUNDS; round++) {
  for (const s of [idleSampler, oursSampler, naiveSampler]) await block(s);
}
await monitor.stop();
const [idle, ours, naive] = [idleSampler, oursSampler, naiveSampler].map(result) as [Result, Result, Result];

const f = (n: number, d = 3): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
console.log('| sampler | samples | processes / sample | CPU ms / sample, own: mean (median) | CPU ms / sample, children | CPU ms / sample, total | wall ms / sample | main-thread CPU ms / sample | loop delay p50 ms | p99 ms | max ms | p99 added ms |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const net = (r: Result): number => r.ownCpuMs + r.childCpuMs;
for (const r of [idle, ours, naive]) {
  const row = [r.name, r.samples, f(r.spawnedPerSample, 2), `${f(r.ownCpuMs)} (${f(r.ownCpuMedianMs)})`, f(r.childCpuMs, 1), f(net(r)), f(r.wallMs, 2), f(r.busyMs), f(r.p50, 2), f(r.p99, 2), f(r.max, 2), r === idle ? '—' : f(r.p99 - idle.p99, 2)];
  console.log(`| ${row.join(' | ')} |`);
}
const ratio = net(naive) / net(ours);
const added = ours.p99 - idle.p99;
console.log('');
console.log(`Goals: processes per sample 0 (got ${f(ours.spawnedPerSample, 2)}); CPU per sample >= 10x less than the naive sampler, children included (got ${f(ratio, 1)}x); loop-delay p99 added < 1 ms (got ${added > 0 ? `${f(added, 2)} ms` : `none measurable: ${f(added, 2)} ms, within the idle run's own noise`}).`);
console.log(`Machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} at the end of the run (loop-delay percentiles are sensitive to other load).`);
console.log(`${ROUNDS} interleaved rounds; samples are ${GAP_MS} ms apart; CPU of the children comes from cutime/cstime in /proc/self/stat (10 ms resolution); processes are counted by wrapping child_process.`);
