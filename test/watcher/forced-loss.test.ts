// Events lost for real: inotify's queue shrunk to 16 events (the kernel drops the rest and
// parcel does not say so) and the whole process stopped while another one writes a burst.
// The watcher must notice (health degraded), crawl, and scan every file anyway.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { FileWatcher, type FileWatcherOptions, type ReconcileReport } from '../../src/index.js';
import { EICAR_TEST_STRING, findingsFor, nextCrawl, tempDir, testDetectors } from './helpers.js';

const QUEUE_LIMIT = '/proc/sys/fs/inotify/max_queued_events';
const FILES = 3000;

// A child process stops this whole process (the event loop and parcel's reader thread alike:
// nothing drains inotify's queue, so the kernel must drop events), writes FILES files
// (every 100th EICAR), and lets this process go on. SIGCONT is sent whatever happens.
const WRITER = `
const { appendFileSync, writeFileSync, mkdirSync } = require('node:fs');
const [dir, files, eicar, parent] = process.argv.slice(1);
process.on('exit', () => process.kill(Number(parent), 'SIGCONT'));
const stoppedAt = Date.now();
process.kill(Number(parent), 'SIGSTOP');
for (let i = 0; i < Number(files); i++) {
  const sub = dir + '/burst' + (i % 30);
  mkdirSync(sub, { recursive: true });
  const path = sub + '/f' + i + '.txt';
  writeFileSync(path, i % 100 === 0 ? eicar : 'benign ' + i + '\\n');
  appendFileSync(path, '\\n');
}
// On a fast, idle machine the burst is written in well under the watcher's stall threshold:
// keep the process stopped for 1.5 s in all, so the stall is as real as under load.
const left = 1500 - (Date.now() - stoppedAt);
if (left > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, left);
`;

// Distinct files written as fast as a few processes can (this one writes every `step`th
// from `first`), while the watcher's process runs on: with a small queue, parcel's reader
// thread cannot keep up and the kernel drops events.
const FAST_WRITER = `
const { writeFileSync, mkdirSync } = require('node:fs');
const [dir, files, eicar, first, step] = process.argv.slice(1);
for (let d = 0; d < 10; d++) mkdirSync(dir + '/fast' + d, { recursive: true });
for (let i = Number(first); i < Number(files); i += Number(step)) writeFileSync(dir + '/fast' + (i % 10) + '/f' + i + '.txt', i % 100 === 0 ? eicar : 'benign ' + i + '\\n');
`;
const WRITERS = 4;

describe('FileWatcher under forced event loss', () => {
  let original: string;
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    original = (await readFile(QUEUE_LIMIT, 'utf8')).trim();
    ({ dir, cleanup } = await tempDir('hostwarden-watch-loss-'));
  });
  after(async () => {
    // Restored even when the test failed half-way.
    await writeFile(QUEUE_LIMIT, original);
    await cleanup();
  });

  /**
   * Starts a watcher whose inotify queue holds 16 events: the limit is read when the
   * inotify instance is created (at start), so it is lowered only for that.
   */
  async function startWithSmallQueue(options: FileWatcherOptions): Promise<FileWatcher> {
    await writeFile(QUEUE_LIMIT, '16');
    try {
      const watcher = new FileWatcher(options);
      const started = nextCrawl(watcher, 'start');
      await watcher.start();
      await started;
      return watcher;
    } finally {
      await writeFile(QUEUE_LIMIT, original);
    }
  }

  it('crawls after a burst during a stall, scans every file, and says degraded in between', async () => {
    const watcher = await startWithSmallQueue({ roots: [dir], detectors: testDetectors(), threads: 1, stallThreshold: 500, settle: 50, persistent: true });
    try {
      const states: string[] = [];
      const reasons: string[] = [];
      watcher.on('health', (h) => {
        states.push(h.state);
        for (const c of h.checks) if (!c.ok) reasons.push(`${c.name}: ${c.message ?? ''}`);
      });
      const crawls: ReconcileReport[] = [];
      watcher.on('reconciled', (r) => crawls.push(r));
      const catchUp = new Promise<ReconcileReport>((resolve, reject) => {
        const safety = setTimeout(() => reject(new Error('no crawl followed the burst and the stall')), 120_000);
        watcher.on('reconciled', (r) => {
          if (r.reason !== 'burst' && r.reason !== 'stall') return;
          clearTimeout(safety);
          resolve(r);
        });
      });
      const planted = Array.from({ length: FILES / 100 }, (_, k) => `${dir}/burst${(k * 100) % 30}/f${k * 100}.txt`);
      const found = findingsFor(watcher, planted, 120_000);

      const writer = spawn(process.execPath, ['-e', WRITER, dir, String(FILES), EICAR_TEST_STRING, String(process.pid)], { stdio: 'inherit' });
      const [code] = (await once(writer, 'exit')) as [number | null];
      assert.equal(code, 0);

      const report = await catchUp;
      await found;
      await watcher.idle();
      assert.ok(states.includes('degraded'), `health never said degraded: ${JSON.stringify(states)}`);
      assert.ok(
        reasons.some((r) => /stalled|overflow suspected/.test(r)),
        reasons.join('; '),
      );
      // Every file of the burst was scanned (the index holds scanned files only).
      assert.equal(watcher.status.indexed, FILES, `crawl report ${JSON.stringify(report)}`);
      // And the loss was real: a crawl found changes that no event had reported.
      assert.ok(
        crawls.some((r) => r.missed > 0),
        `no crawl found a lost event: ${JSON.stringify(crawls)}`,
      );
    } finally {
      await watcher.stop();
    }
  });

  it('a short overflow without any stall: degraded (overflow suspected), a crawl at once, every file scanned', async () => {
    const { dir: root, cleanup: cleanupRoot } = await tempDir('hostwarden-watch-overflow-');
    // Periodic crawls in hours and stalls only past a minute: only overflow detection can
    // bring the crawl that finds what the kernel dropped.
    const watcher = await startWithSmallQueue({
      roots: [root],
      detectors: testDetectors(),
      threads: 1,
      settle: 50,
      reconcileInterval: '5h',
      stallThreshold: '1m',
      persistent: true,
    });
    try {
      const reasons: string[] = [];
      watcher.on('health', (h) => {
        for (const c of h.checks) if (!c.ok) reasons.push(`${c.name}: ${c.message ?? ''}`);
      });
      const crawls: ReconcileReport[] = [];
      watcher.on('reconciled', (r) => crawls.push(r));
      const planted = Array.from({ length: FILES / 100 }, (_, k) => `${root}/fast${(k * 100) % 10}/f${k * 100}.txt`);
      const found = findingsFor(watcher, planted, 60_000);
      const writers = Array.from({ length: WRITERS }, (_, k) =>
        spawn(process.execPath, ['-e', FAST_WRITER, root, String(FILES), EICAR_TEST_STRING, String(k), String(WRITERS)], { stdio: 'inherit' }),
      );
      const codes = await Promise.all(writers.map(async (w) => ((await once(w, 'exit')) as [number | null])[0]));
      assert.deepEqual(
        codes,
        Array.from({ length: WRITERS }, () => 0),
      );
      await found;
      await watcher.idle();
      assert.ok(
        reasons.some((r) => /^events: inotify queue overflow suspected/.test(r)),
        `health never said overflow suspected: ${reasons.join('; ')}`,
      );
      assert.ok(
        crawls.some((r) => r.reason === 'burst'),
        `no crawl followed the overflow: ${JSON.stringify(crawls)}`,
      );
      assert.equal(watcher.status.indexed, FILES);
      // The loss was real: the crawl found files no event had reported.
      assert.ok(
        crawls.some((r) => r.missed > 0),
        `no event was lost: ${JSON.stringify(crawls)}`,
      );
    } finally {
      await watcher.stop();
      await cleanupRoot();
    }
  });
});
