// FileWatcher: how fast a landed file is scanned, whether a burst that overflows inotify
// loses anything, and what watching a large tree costs. maldet's monitor mode is the
// reference: it collects inotify events and scans them in batches every 15–30 s (its
// documented design; maldet itself is not installed here).
//
//   npm run bench -- watcher
//
// 1. Latency: a child process writes 200 EICAR files per second for 10 s; each name holds
//    its write time; latency = finding time − write time, p50/p99 over all files.
// 2. Burst: inotify's queue is lowered to 16 events for the watcher (restored at once), the
//    whole process is stopped (SIGSTOP) while a child writes 25,000 files × 4 writes
//    (100,000 events); missed = files never scanned after the watcher caught up,
//    staleness = time from the end of the burst until every file was scanned.
// 3. Set-up: 100,000 directories; time for start() (parcel's crawl and one inotify watch
//    per directory) and for the initial crawl, and RSS: absolute, the baseline before the
//    watcher was made, and the peak — in a fresh plain-node process on the built dist/
//    (what users run; `npm run build` first) and in this tsx process.
// Needs root (the inotify queue limit) and ~100,000 free inotify watches.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EICAR_SIGNATURE, FileWatcher, signatureDetector, type ReconcileReport } from '../src/index.js';
import { EICAR_TEST_STRING } from '../src/index.js';

const QUEUE_LIMIT = '/proc/sys/fs/inotify/max_queued_events';
const detectors = [signatureDetector({ signatures: [EICAR_SIGNATURE] })];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function latency(base: string): Promise<{ p50: number; p99: number; max: number; files: number; missing: number }> {
  const dir = join(base, 'latency');
  await mkdir(dir);
  const watcher = new FileWatcher({ roots: [dir], detectors, persistent: true });
  const latencies: number[] = [];
  watcher.on('finding', (f) => {
    const written = Number(/-(\d+)\.com$/.exec(f.path)?.[1]);
    latencies.push(Date.now() - written);
  });
  await watcher.start();
  await watcher.idle();
  const writer = `
const { writeFileSync } = require('node:fs');
const [dir, eicar] = process.argv.slice(1);
const start = Date.now();
let n = 0;
const tick = () => {
  // 200 per second by the wall clock, whatever the timer jitter.
  const due = Math.floor(((Date.now() - start) / 1000) * 200);
  while (n < due && n < 2000) { const t = Date.now(); writeFileSync(dir + '/f' + n + '-' + t + '.com', eicar); n++; }
  if (n < 2000) setTimeout(tick, 2);
};
tick();
`;
  const child = spawn(process.execPath, ['-e', writer, dir, EICAR_TEST_STRING], { stdio: 'inherit' });
  await once(child, 'exit');
  await watcher.idle();
  if (latencies.length < 2000) {
    // Whatever events missed, a crawl finds (its latency counts, honestly).
    await watcher.reconcile();
    await watcher.idle();
  }
  await watcher.stop();
  const sorted = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, files: 2000, missing: 2000 - latencies.length };
}

async function burst(base: string): Promise<{ files: number; missed: number; lostEvents: number; stalenessMs: number; crawls: string }> {
  const dir = join(base, 'burst');
  await mkdir(dir);
  const files = 25_000;
  const original = readFileSync(QUEUE_LIMIT, 'utf8').trim();
  writeFileSync(QUEUE_LIMIT, '16');
  let watcher: FileWatcher;
  try {
    watcher = new FileWatcher({ roots: [dir], detectors, persistent: true });
    await watcher.start();
  } finally {
    writeFileSync(QUEUE_LIMIT, original);
  }
  await watcher.idle();
  const crawls: ReconcileReport[] = [];
  watcher.on('reconciled', (r) => crawls.push(r));
  const writer = `
const { writeFileSync, appendFileSync, mkdirSync } = require('node:fs');
const [dir, files, parent] = process.argv.slice(1);
process.on('exit', () => process.kill(Number(parent), 'SIGCONT'));
process.kill(Number(parent), 'SIGSTOP');
for (let d = 0; d < 100; d++) mkdirSync(dir + '/d' + d);
for (let i = 0; i < Number(files); i++) {
  const path = dir + '/d' + (i % 100) + '/f' + i;
  writeFileSync(path, 'a');
  for (let k = 0; k < 3; k++) appendFileSync(path, 'b');
}
`;
  const child = spawn(process.execPath, ['-e', writer, dir, String(files), String(process.pid)], { stdio: 'inherit' });
  await once(child, 'exit');
  const burstEnd = Date.now();
  // Caught up: every file of the burst is in the index (scanned), nothing pending.
  while (watcher.status.indexed < files) {
    await new Promise<void>((resolve) => watcher.once('reconciled', () => resolve()));
    await watcher.idle();
  }
  const staleness = Date.now() - burstEnd;
  const missed = files - watcher.status.indexed;
  await watcher.stop();
  return {
    files,
    missed,
    lostEvents: crawls.reduce((sum, r) => sum + r.missed, 0),
    stalenessMs: staleness,
    crawls: crawls.map((r) => `${r.reason}:${r.changed}`).join(' '),
  };
}

// maldet's monitor mode runs `inotifywait -r -m` over its paths: the peer for set-up cost.
async function inotifywait(dir: string): Promise<{ setupMs: number; rssMb: number }> {
  const t0 = performance.now();
  const child = spawn('inotifywait', ['-r', '-m', '-e', 'create,close_write,moved_to', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('Watches established')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`inotifywait exited with ${code}: ${stderr}`)));
    });
    const setupMs = performance.now() - t0;
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    return { setupMs, rssMb: rssKb / 1024 };
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit').catch(() => {});
  }
}

interface SetupRun {
  readonly startMs: number;
  readonly crawlMs: number;
  /** RSS before the watcher was made (after imports), after start() + the first crawl (after a GC), and the process's peak. */
  readonly baselineMb: number;
  readonly rssMb: number;
  readonly peakMb: number;
  readonly mode: string;
}

// The same measurement in a plain `node` process on the built package (what users run):
// no tsx in the main thread or the worker threads, whose compiler costs tens of MB each.
const SETUP_CHILD = `
const [dir, index] = process.argv.slice(1);
const { FileWatcher, signatureDetector, EICAR_SIGNATURE } = await import(index);
const mb = (bytes) => bytes / 2 ** 20;
globalThis.gc();
const baseline = process.memoryUsage().rss;
const watcher = new FileWatcher({ roots: [dir], detectors: [signatureDetector({ signatures: [EICAR_SIGNATURE] })], persistent: true });
const crawled = new Promise((resolve) => watcher.once('reconciled', resolve));
const t0 = performance.now();
await watcher.start();
const startMs = performance.now() - t0;
await crawled;
const crawlMs = performance.now() - t0;
globalThis.gc();
const rss = process.memoryUsage().rss;
const mode = watcher.status.mode;
await watcher.stop();
process.stdout.write(JSON.stringify({ startMs, crawlMs, baselineMb: mb(baseline), rssMb: mb(rss), peakMb: mb(process.resourceUsage().maxRSS * 1024), mode }));
`;

async function setupInDist(dir: string): Promise<SetupRun | string> {
  const index = new URL('../dist/index.js', import.meta.url);
  try {
    if (statSync(index).mtimeMs < statSync(new URL('../src/watcher/file-watcher.ts', import.meta.url)).mtimeMs) return 'dist/ is older than src/: run `npm run build` first';
  } catch {
    return 'no dist/: run `npm run build` first';
  }
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', SETUP_CHILD, dir, index.href], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) return `the plain-node run failed (exit ${code})`;
  return JSON.parse(out) as SetupRun;
}

async function setup(base: string): Promise<{ dirs: number; tsx: SetupRun; dist: SetupRun | string; peer: { setupMs: number; rssMb: number } }> {
  const dir = join(base, 'tree');
  const dirs = 100_000;
  for (let a = 0; a < 100; a++) {
    await Promise.all(Array.from({ length: 1000 }, (_, b) => mkdir(join(dir, `a${a}`, `b${b}`), { recursive: true })));
  }
  const peer = await inotifywait(dir);
  // The built package in a fresh process first, while this one has not yet watched anything.
  const dist = await setupInDist(dir);
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  const watcher = new FileWatcher({ roots: [dir], detectors, persistent: true });
  const crawled = new Promise<void>((resolve) => watcher.once('reconciled', () => resolve()));
  const t0 = performance.now();
  await watcher.start();
  const startMs = performance.now() - t0;
  await crawled;
  const crawlMs = performance.now() - t0;
  globalThis.gc?.();
  const rss = process.memoryUsage().rss;
  const mode = watcher.status.mode;
  await watcher.stop();
  const mb = (bytes: number): number => bytes / 2 ** 20;
  return { dirs: dirs + 100 + 1, tsx: { startMs, crawlMs, baselineMb: mb(baseline), rssMb: mb(rss), peakMb: mb(process.resourceUsage().maxRSS * 1024), mode }, dist, peer };
}

const base = await mkdtemp(join(tmpdir(), 'hostwarden-watch-bench-'));
try {
  const load = (): string =>
    loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
  console.log(`load average at start: ${load()}`);
  // --part=latency|burst|setup runs one part.
  const part = process.argv.find((a) => a.startsWith('--part='))?.slice('--part='.length);
  const l = part === undefined || part === 'latency' ? await latency(base) : undefined;
  const b = part === undefined || part === 'burst' ? await burst(base) : undefined;
  const s = part === undefined || part === 'setup' ? await setup(base) : undefined;
  console.log('');
  console.log('| measure | hostwarden FileWatcher | goal | maldet monitor mode (design; set-up: its `inotifywait -r -m`, measured) |');
  console.log('| --- | --- | --- | --- |');
  if (l) {
    console.log(`| write → finding, 200 files/s for 10 s, p50 | ${l.p50} ms | | 15–30 s (batch interval) |`);
    console.log(`| write → finding, p99 (max) | ${l.p99} ms (${l.max} ms) | ≤ 1 s | 15–30 s |`);
    console.log(`| files never found (of ${l.files}) | ${l.missing} | 0 | |`);
  }
  if (b) {
    console.log(
      `| burst of ${b.files * 4} events, inotify queue 16, process stopped: files whose events the kernel dropped (found by crawl) | ${b.lostEvents} | | lost (no overflow handling) |`,
    );
    console.log(`| files missed after reconciliation (of ${b.files}) | ${b.missed} | 0 | |`);
    console.log(`| staleness: burst end → every file scanned | ${(b.stalenessMs / 1000).toFixed(1)} s | ≤ 60 s | next batch, if the event arrived |`);
  }
  if (s) {
    const runs: [string, SetupRun | string][] = [
      ['plain node, dist/', s.dist],
      ['tsx, src/ (this process)', s.tsx],
    ];
    for (const [how, run] of runs) {
      if (typeof run === 'string') {
        console.log(`| watch set-up, ${s.dirs} directories (${how}) | not measured: ${run} | | |`);
        continue;
      }
      const mode = run.mode === 'events' ? '' : ` (fell back to ${run.mode})`;
      console.log(`| watch set-up, ${s.dirs} directories (${how}): start()${mode} | ${(run.startMs / 1000).toFixed(1)} s | ≤ 10 s | ${(s.peer.setupMs / 1000).toFixed(1)} s |`);
      console.log(`| start() + initial crawl (index of every entry) (${how}) | ${(run.crawlMs / 1000).toFixed(1)} s | | (no index) |`);
      console.log(
        `| RSS after set-up (${how}): absolute, baseline before the watcher, growth, peak | ${run.rssMb.toFixed(0)} MB (baseline ${run.baselineMb.toFixed(0)} MB, +${(run.rssMb - run.baselineMb).toFixed(0)} MB; peak ${run.peakMb.toFixed(0)} MB) | ≤ 200 MB | ${s.peer.rssMb.toFixed(0)} MB |`,
      );
    }
  }
  console.log('');
  if (b) console.log(`crawls after the burst (reason:changed): ${b.crawls}`);
  console.log(`load average at end: ${load()}`);
} finally {
  await rm(base, { recursive: true, force: true });
}
