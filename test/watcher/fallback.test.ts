import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileWatcher, type Health } from '../../src/index.js';
import { EICAR_TEST_STRING, findingsFor, nextCrawl, tempDir, testDetectors } from './helpers.js';

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
      const first = new FileWatcher({ roots: [data], stateFile, detectors: testDetectors(), threads: 1 });
      const crawled = nextCrawl(first, 'start');
      await first.start();
      assert.equal((await crawled).directories, 13);
      await first.stop();

      const second = new FileWatcher({ roots: [data], stateFile, detectors: testDetectors(), threads: 1, procRoot: proc, fallbackInterval: 1000 });
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
      const watcher = new FileWatcher({ roots: [dir], events: false, detectors: testDetectors(), threads: 1, fallbackInterval: 1000 });
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
    const watcher = new FileWatcher({ roots: [root], detectors: testDetectors(), threads: 1, fallbackInterval: 1000 });
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
