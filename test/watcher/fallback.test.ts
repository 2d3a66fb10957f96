import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileWatcher, type Health } from '../../src/index.js';
import { EICAR_TEST_STRING, findingsFor, nextCrawl, tempDir, testDetectors } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/watch-limit-child.ts', import.meta.url));

describe('FileWatcher without enough inotify watches', () => {
  it('checks max_user_watches before subscribing, says how many are needed, and finds files by crawling', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-limit-');
    const data = join(dir, 'data');
    const stateFile = join(dir, 'watch.index');
    // A /proc whose limit is 5 watches (and no processes holding any).
    const proc = join(dir, 'proc');
    try {
      for (let i = 0; i < 12; i++) await mkdir(join(data, `d${i}`), { recursive: true });
      await mkdir(join(proc, 'sys/fs/inotify'), { recursive: true });
      await writeFile(join(proc, 'sys/fs/inotify/max_user_watches'), '5\n');
      await writeFile(join(proc, 'sys/fs/inotify/max_queued_events'), '16384\n');

      // A first run records how many directories there are.
      const first = new FileWatcher({ roots: [data], stateFile, detectors: testDetectors(), threads: 1, persistent: true });
      const crawled = nextCrawl(first, 'start');
      await first.start();
      assert.equal((await crawled).directories, 13);
      await first.stop();

      const second = new FileWatcher({ roots: [data], stateFile, detectors: testDetectors(), threads: 1, procRoot: proc, fallbackInterval: 1000, persistent: true });
      const healths: Health[] = [];
      second.on('health', (h) => healths.push(h));
      const warnings: string[] = [];
      second.on('warning', (w) => warnings.push(w.code));
      await second.start();
      try {
        assert.equal(second.status.mode, 'crawl-only');
        const health = second.health();
        assert.equal(health.state, 'degraded');
        const watch = health.checks.find((c) => c.name === 'watch');
        assert.match(watch?.message ?? '', /crawling only.*13 directories need one inotify watch each.*max_user_watches = 5.*raise it to at least/);
        assert.ok(warnings.includes('crawl-only'));
        // Still finds what lands, by crawling.
        const planted = join(data, 'd7', 'dropped.com');
        const found = findingsFor(second, [planted]);
        await writeFile(planted, EICAR_TEST_STRING);
        await found;
      } finally {
        await second.stop();
      }
    } finally {
      await cleanup();
    }
  });

  it('events: false crawls only, and says so', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-noevents-');
    try {
      const watcher = new FileWatcher({ roots: [dir], events: false, detectors: testDetectors(), threads: 1, fallbackInterval: 1000, persistent: true });
      await watcher.start();
      try {
        assert.equal(watcher.health().state, 'degraded');
        const planted = join(dir, 'x.com');
        const found = findingsFor(watcher, [planted]);
        const crawl = nextCrawl(watcher, 'crawl-only');
        await writeFile(planted, EICAR_TEST_STRING);
        await found;
        await crawl;
      } finally {
        await watcher.stop();
      }
    } finally {
      await cleanup();
    }
  });

  it('a root deleted and made again: degraded while gone, watched again after', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-root-');
    const root = join(dir, 'root');
    await mkdir(root);
    const watcher = new FileWatcher({ roots: [root], detectors: testDetectors(), threads: 1, fallbackInterval: 1000, persistent: true });
    try {
      const started = nextCrawl(watcher, 'start');
      await watcher.start();
      await started;
      const degraded = new Promise<Health>((resolve) => watcher.on('health', (h) => h.state === 'degraded' && resolve(h)));
      await rm(root, { recursive: true });
      const health = await degraded;
      assert.ok(
        health.checks.some((c) => c.name === 'watch' && !c.ok),
        JSON.stringify(health),
      );
      await mkdir(root);
      const back = new Promise<void>((resolve) => watcher.on('health', (h) => h.state === 'ok' && resolve()));
      const planted = join(root, 'again.com');
      const found = findingsFor(watcher, [planted]);
      await writeFile(planted, EICAR_TEST_STRING);
      await found;
      await back;
      assert.equal(watcher.status.mode, 'events');
    } finally {
      await watcher.stop();
      await cleanup();
    }
  });
});

describe('FileWatcher when the kernel runs out of inotify watches on a first start', () => {
  it('falls back to crawling, says so with how many watches the tree needs, and still finds files', { timeout: 120_000 }, async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-enospc-');
    // 40 directories and the root: 41 watches needed, 10 allowed.
    for (let i = 0; i < 40; i++) await mkdir(join(dir, `d${i}`));
    const child = spawn('unshare', ['--user', '--map-root-user', process.execPath, '--import=tsx/esm', CHILD, dir, '10'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const messages: Record<string, unknown>[] = [];
    const waiters: { test: (m: Record<string, unknown>) => boolean; resolve: (m: Record<string, unknown>) => void }[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      messages.push(message);
      for (const w of waiters.splice(0)) (w.test(message) ? w.resolve : (): number => waiters.push(w))(message);
    });
    const next = (test: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const seen = messages.find(test);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`the watcher never said it: ${JSON.stringify(messages)}`)), 60_000);
        waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
      });
    try {
      const started = await next((m) => m.started !== undefined);
      assert.equal(started.started, 'crawl-only');
      assert.equal((started.health as Health).state, 'degraded');
      const first = await next((m) => m.reconciled === 'start');
      assert.equal(first.directories, 41);
      const watch = (first.health as Health).checks.find((c) => c.name === 'watch');
      assert.equal(watch?.ok, false);
      assert.match(watch?.message ?? '', /^crawling only, every 1 s: 41 directories need one inotify watch each, but user\.max_inotify_watches = 10 .*raise it to at least/);
      assert.ok(
        messages.some((m) => m.warning === 'crawl-only'),
        JSON.stringify(messages),
      );
      const planted = join(dir, 'd7', 'dropped.com');
      await writeFile(planted, EICAR_TEST_STRING);
      await next((m) => m.finding === planted);
    } finally {
      child.stdin.end();
      const [code] = (await once(child, 'exit')) as [number | null];
      await cleanup();
      assert.equal(code, 0);
    }
  });
});
