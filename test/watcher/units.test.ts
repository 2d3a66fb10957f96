import assert from 'node:assert/strict';
import type { Stats } from 'node:fs';
import { lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileScanner, type Detector } from '../../src/index.js';
import { FileIndex, rawKey } from '../../src/watcher/file-index.js';
import { ScanRunner } from '../../src/watcher/scan-runner.js';
import { burstThresholdFor, LossSignals } from '../../src/watcher/loss-signals.js';
import { priorityOf, ScanQueue } from '../../src/watcher/scan-queue.js';
import { crawl, VisitedDirectories } from '../../src/watcher/crawl.js';
import { tempDir } from './helpers.js';

const stats = (mode: number): Stats => ({ mode }) as Stats;

describe('scan priorities', () => {
  it('risky places and executable content first, arrival order within a level, one entry per path', () => {
    const risky = ['/tmp', '/var/www'];
    assert.equal(priorityOf('/tmp/x.php', stats(0o100644), risky), 0);
    assert.equal(priorityOf('/tmp/notes.txt', stats(0o100644), risky), 1);
    assert.equal(priorityOf('/home/a/run', stats(0o100755), risky), 1);
    assert.equal(priorityOf('/home/a/notes.txt', stats(0o100644), risky), 2);
    assert.equal(priorityOf('/tmpfoo/x.txt', stats(0o100644), risky), 2, 'a prefix of a name is not the directory');
    const queue = new ScanQueue();
    queue.push({ path: '/home/a', stats: stats(0), priority: 2 });
    queue.push({ path: '/home/b', stats: stats(0), priority: 2 });
    queue.push({ path: '/tmp/c', stats: stats(0), priority: 1 });
    queue.push({ path: '/home/a', stats: stats(0), priority: 0 }); // changed into something urgent
    queue.push({ path: '/tmp/c', stats: stats(0), priority: 2 }); // a later, lower priority keeps its place
    assert.equal(queue.size, 3);
    assert.deepEqual([queue.shift()?.path, queue.shift()?.path, queue.shift()?.path, queue.shift()], ['/home/a', '/tmp/c', '/home/b', undefined]);
  });
});

describe('the persistent index', () => {
  it('round-trips, skips corrupt lines (counted), and is stale for other detectors', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-index-');
    try {
      const file = join(dir, 'watch.index');
      const index = new FileIndex('det=1');
      index.set('/srv/a', '1:2:3:4:5');
      index.set('/srv/new\nline', '1:3:3:4:5');
      index.directories = 7;
      await index.save(file);
      const text = await readFile(file, 'utf8');
      await writeFile(file, `${text}garbage without a tab\n1:4:1:1:1\t"relative/path"\n1:5:1:1:1\t{not json\n`);
      const again = new FileIndex('det=1');
      const loaded = await again.load(file);
      assert.deepEqual(loaded, { entries: 2, corrupt: 3, stale: false });
      assert.equal(again.get('/srv/new\nline'), '1:3:3:4:5');
      assert.equal(again.directories, 7);
      const other = new FileIndex('det=2');
      assert.equal((await other.load(file)).stale, true);
      assert.equal(other.size, 0);
    } finally {
      await cleanup();
    }
  });

  it('a sweep drops what a crawl did not meet, except under unreadable directories', () => {
    const index = new FileIndex('x');
    for (const p of ['/r/a', '/r/b', '/r/locked/c', '/other/d']) index.set(p, 's');
    index.beginCrawl();
    index.mark('/r/a');
    assert.equal(index.sweep(['/r'], ['/r/locked']), 1);
    assert.equal(index.get('/r/b'), undefined);
    assert.equal(index.get('/r/locked/c'), 's');
    assert.equal(index.get('/other/d'), 's');
  });

  it('keys names that are not UTF-8 by their bytes: distinct from any decoded path, swept and saved like them', async () => {
    const bytes = (dir: string, ...name: number[]): Buffer => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name)]);
    // /r/é as UTF-8 text, and the single byte 0xe9 ("é" in latin1): two different files.
    const latin = rawKey(bytes('/r/ü', 0xe9));
    const gone = rawKey(bytes('/r/ü', 0xff));
    const locked = rawKey(bytes('/r/locked', 0xff));
    assert.notEqual(latin, '/r/ü/é');
    const index = new FileIndex('x');
    for (const key of ['/r/ü/é', latin, gone, locked]) index.set(key, key);
    index.beginCrawl();
    index.mark('/r/ü/é');
    index.mark(latin);
    assert.equal(index.sweep(['/r'], ['/r/locked']), 1);
    assert.equal(index.get(gone), undefined);
    assert.equal(index.get(locked), locked);
    const { dir, cleanup } = await tempDir('hostwarden-index-raw-');
    try {
      await index.save(join(dir, 'index'));
      const loaded = new FileIndex('x');
      assert.deepEqual(await loaded.load(join(dir, 'index')), { entries: 3, corrupt: 0, stale: false });
      assert.equal(loaded.get(latin), latin);
      assert.equal(loaded.get('/r/ü/é'), '/r/ü/é');
    } finally {
      await cleanup();
    }
  });
});

describe('the scan runner', () => {
  it('never scans one path twice at once: a second request waits, then the path is looked at afresh', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-runner-');
    const controller = new AbortController();
    let release = (): void => {};
    let session: Awaited<ReturnType<FileScanner['openSession']>> | undefined;
    try {
      const path = join(dir, 'upload.bin');
      await writeFile(path, 'data');
      let active = 0;
      let most = 0;
      let calls = 0;
      let entered = (): void => {};
      const firstEntered = new Promise<void>((resolve) => (entered = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      // A user's detector (plain object) that holds the first inspection until released.
      const held: Detector = {
        name: 'held',
        async inspect() {
          calls++;
          active++;
          most = Math.max(most, active);
          entered();
          await gate;
          active--;
          return [];
        },
      };
      session = await new FileScanner({ roots: [dir], detectors: [held], threads: 1 }).openSession(controller.signal);
      const rechecked: string[] = [];
      const index = new FileIndex('x');
      const runner = new ScanRunner({
        session,
        index,
        concurrency: 4,
        relativePath: (p) => p.slice(dir.length + 1),
        onError: (error) => assert.fail(String(error)),
        recheck: (p) => rechecked.push(p),
        changed: () => onChanged(),
      });
      let onChanged = (): void => {};
      const st = await lstat(path);
      runner.push({ path, stats: st, priority: 2 });
      await firstEntered;
      runner.push({ path, stats: st, priority: 2 });
      assert.equal(runner.size, 2, 'one scanning, one held back');
      assert.equal(calls, 1);
      const finished = new Promise<void>((resolve) => (onChanged = () => runner.scanning === 0 && resolve()));
      release();
      await finished;
      await runner.close();
      assert.equal(most, 1);
      assert.deepEqual(rechecked, [path]);
      assert.equal(index.get(path) !== undefined, true);
    } finally {
      // Whatever failed, nothing stays held and no worker keeps the process alive.
      release();
      controller.abort();
      await session?.close();
      await cleanup();
    }
  });
});

describe('loss signals', () => {
  const signals = (burstThreshold: number): { now: { t: number }; losses: string[]; signals: LossSignals } => {
    const now = { t: 0 };
    const losses: string[] = [];
    return { now, losses, signals: new LossSignals({ clock: () => now.t, burstThreshold, stallThreshold: 1000, tickMs: 250, onLoss: (_, message) => losses.push(message) }) };
  };

  it('counts a burst over a sliding second, also across the edge of a fixed window', () => {
    const { now, losses, signals: s } = signals(5);
    s.countEvents(1);
    now.t = 999;
    s.countEvents(3);
    now.t = 1001;
    s.countEvents(3);
    assert.equal(losses.length, 1, 'six events within 2 ms are a burst above 5');
    assert.match(losses[0] ?? '', /overflow suspected: 6 events within a second/);
    // Spread out, the same events are not.
    now.t = 5000;
    for (let i = 0; i < 10; i++) {
      now.t += 500;
      s.countEvents(2);
    }
    assert.equal(losses.length, 1);
  });

  it('takes its default from the queue length, with no floor: a 16-event queue overflows with 8 files', () => {
    assert.equal(burstThresholdFor(16_384), 4096);
    assert.equal(burstThresholdFor(16), 4);
    assert.equal(burstThresholdFor(undefined), 4096);
    const { losses, signals: s } = signals(burstThresholdFor(16));
    // 16 queued events: 8 files created and written, merged by parcel into 8 events.
    s.countEvents(8);
    assert.equal(losses.length, 1);
  });
});

describe('crawl', () => {
  it("names a directory's undecodable files before any of its subdirectories, undecodable ones too", async () => {
    // The event source lists one directory's own names and stops at its first subdirectory:
    // a subdirectory named with bad bytes must not come first and hide the files beside it.
    const { dir, cleanup } = await tempDir('hostwarden-crawl-order-');
    try {
      const raw = (name: string, byte: number): Buffer => Buffer.concat([Buffer.from(`${dir}/${name}`), Buffer.from([byte])]);
      for (let i = 0; i < 6; i++) await mkdir(raw(`dir${i}-`, 0xff));
      for (let i = 0; i < 6; i++) await writeFile(raw(`file${i}-`, 0xfe), 'x');
      const before: string[] = [];
      for await (const item of crawl(dir, { isExcluded: () => false, oneFileSystem: false, visited: new VisitedDirectories() })) {
        if (item.type === 'directory' && item.path !== dir) break;
        if (item.type === 'non-utf8') before.push(item.rawPath.toString('latin1'));
      }
      assert.equal(before.length, 6, before.join(', '));
      let files = 0;
      let directories = 0;
      for await (const item of crawl(dir, { isExcluded: () => false, oneFileSystem: false, visited: new VisitedDirectories() })) {
        if (item.type === 'non-utf8') files++;
        if (item.type === 'directory' && typeof item.path !== 'string') directories++;
      }
      assert.deepEqual([files, directories], [6, 6]);
    } finally {
      await cleanup();
    }
  });
});
