import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { FileWatcher, InvalidOptionError, type Finding } from '../../src/index.js';
import { EICAR_TEST_STRING, findingsFor, nextCrawl, peImage, tempDir, testDetectors } from './helpers.js';

const run = promisify(execFile);

describe('FileWatcher: files landing in a watched tree are scanned', () => {
  let dir: string;
  let outside: string;
  let cleanup: () => Promise<void>;
  let cleanupOutside: () => Promise<void>;
  let watcher: FileWatcher;

  before(async () => {
    ({ dir, cleanup } = await tempDir('hostwarden-watch-'));
    ({ dir: outside, cleanup: cleanupOutside } = await tempDir('hostwarden-outside-'));
    await writeFile(join(dir, 'existing.txt'), 'harmless\n');
    // Crawls only at start and on request here (no burst or stall crawls on a loaded
    // machine): what these tests see came through kernel events and directory listings.
    watcher = new FileWatcher({ roots: [dir], detectors: testDetectors(), threads: 1, settle: 100, burstThreshold: 1e9, stallThreshold: 600_000, persistent: true });
    const started = nextCrawl(watcher, 'start');
    await watcher.start();
    await started;
  });
  after(async () => {
    await watcher.stop();
    await cleanup();
    await cleanupOutside();
  });

  it('a created file (EICAR) and a PE named .pdf', async () => {
    const eicar = join(dir, 'created.com');
    const pdf = join(dir, 'invoice.pdf');
    const found = findingsFor(watcher, [eicar, pdf]);
    await writeFile(eicar, EICAR_TEST_STRING);
    await writeFile(pdf, peImage());
    const findings = await found;
    assert.ok(findings.get(eicar)?.some((f) => f.detector === 'signature'));
    assert.ok(findings.get(pdf)?.some((f) => f.detector === 'executable' && /PE/.test(f.reason)));
  });

  it('a file that becomes malicious by an append', async () => {
    const path = join(dir, 'notes.txt');
    await writeFile(path, 'just notes\n');
    await watcher.idle();
    const found = findingsFor(watcher, [path]);
    await appendFile(path, EICAR_TEST_STRING);
    assert.ok((await found).get(path)?.some((f) => f.detector === 'signature'));
  });

  it('a file renamed into the tree', async () => {
    const source = join(outside, 'dropper.pdf');
    const target = join(dir, 'moved-in.pdf');
    await writeFile(source, peImage());
    const found = findingsFor(watcher, [target]);
    await rename(source, target);
    await found;
  });

  it('mkdir -p and an immediate write (which parcel alone misses)', async () => {
    const paths: string[] = [];
    for (let i = 0; i < 40; i++) paths.push(join(dir, `deep${i}`, 'a', 'b', 'c', 'payload.bin'));
    const found = findingsFor(watcher, paths);
    for (const path of paths) {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, EICAR_TEST_STRING);
    }
    assert.equal((await found).size, paths.length);
  });

  it('a file written later into a subdirectory of a tree moved in', async () => {
    // parcel watches a directory renamed into the tree, but none of its subdirectories:
    // only the extra subscription for the new tree reports what lands in them afterwards.
    await mkdir(join(outside, 'fresh', 'sub', 'subsub'), { recursive: true });
    await rename(join(outside, 'fresh'), join(dir, 'fresh'));
    // The sentinel's finding means parcel delivered the rename and the new tree's listing
    // has begun; idle() then waits for the listing. Only then is the file written, so
    // no listing can find it: an event has to report it.
    const sentinel = join(dir, 'fresh', 'sentinel.pdf');
    const seen = findingsFor(watcher, [sentinel]);
    await writeFile(sentinel, peImage());
    await seen;
    await watcher.idle();
    const later = join(dir, 'fresh', 'sub', 'subsub', 'later.com');
    const found = findingsFor(watcher, [later]);
    await writeFile(later, EICAR_TEST_STRING);
    await found;
  });

  it('cp -a of a 10,000-file tree with samples planted in it', async () => {
    const tree = join(outside, 'site');
    const planted: string[] = [];
    for (let d = 0; d < 100; d++) {
      const sub = join(tree, `d${d}`, 'inner');
      await mkdir(sub, { recursive: true });
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(sub, `f${f}.txt`), `file ${d}/${f}\n`)));
    }
    for (const d of [0, 37, 99]) {
      await writeFile(join(tree, `d${d}`, 'inner', 'f50.txt'), EICAR_TEST_STRING);
      planted.push(join(dir, 'site', `d${d}`, 'inner', 'f50.txt'));
    }
    await writeFile(join(tree, 'd64', 'report.pdf'), peImage());
    planted.push(join(dir, 'site', 'd64', 'report.pdf'));
    const found = findingsFor(watcher, planted);
    await run('cp', ['-a', tree, join(dir, 'site')]);
    assert.equal((await found).size, planted.length);
  });

  it('a path deleted and planted again', async () => {
    const path = join(dir, 'recycled.txt');
    await writeFile(path, 'benign\n');
    await watcher.idle();
    await unlink(path);
    await watcher.idle();
    const found = findingsFor(watcher, [path]);
    await writeFile(path, EICAR_TEST_STRING);
    await found;
  });

  it('a name that is not valid UTF-8, found and judged by its bytes', async () => {
    const raw = Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.com')]);
    const found = new Promise<Finding>((resolve) => {
      const on = (f: Finding): void => {
        if (f.rawPath?.equals(raw) !== true) return;
        watcher.off('finding', on);
        resolve(f);
      };
      watcher.on('finding', on);
    });
    await writeFile(raw, EICAR_TEST_STRING);
    const finding = await found;
    assert.equal(finding.detector, 'signature');
    assert.match(finding.displayPath, /bad-\\xff\\xfe\.com$/);
  });

  it('clean files make no finding', async () => {
    let findings = 0;
    const plain = join(dir, 'plain.txt');
    const count = (f: { path: string }): void => void (f.path === plain && findings++);
    watcher.on('finding', count);
    await writeFile(plain, 'nothing to see\n');
    await watcher.reconcile();
    await watcher.idle();
    watcher.off('finding', count);
    assert.equal(findings, 0);
    assert.equal(watcher.health().state, 'ok', JSON.stringify(watcher.health()));
  });
});

describe('FileWatcher: the index across restarts', () => {
  it('scans only what changed while it was stopped, and what appeared', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-state-');
    const data = join(dir, 'data');
    const stateFile = join(dir, 'watch.index');
    try {
      await mkdir(data);
      await writeFile(join(data, 'old.pdf'), peImage());
      await writeFile(join(data, 'changed.txt'), 'benign\n');
      const first = new FileWatcher({ roots: [data], stateFile, detectors: testDetectors(), threads: 1, persistent: true });
      const firstFound = findingsFor(first, [join(data, 'old.pdf')]);
      await first.start();
      await firstFound;
      await first.idle();
      await first.stop();

      // While stopped: one file changes, one appears, one stays as it was.
      await writeFile(join(data, 'changed.txt'), EICAR_TEST_STRING);
      await writeFile(join(data, 'new.pdf'), peImage());
      const second = new FileWatcher({ roots: [data], stateFile, detectors: testDetectors(), threads: 1, persistent: true });
      const seen: string[] = [];
      second.on('finding', (f) => seen.push(f.path));
      const crawled = nextCrawl(second, 'start');
      await second.start();
      const report = await crawled;
      await second.idle();
      await second.stop();
      assert.equal(report.changed, 2);
      assert.deepEqual([...new Set(seen)].sort(), [join(data, 'changed.txt'), join(data, 'new.pdf')]);
    } finally {
      await cleanup();
    }
  });
});

describe('FileWatcher: names that are not valid UTF-8 in the index', () => {
  it('are crawled into when they name a directory: files under /tmp/<bad bytes>/ are found', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-rawdir-');
    const data = join(dir, 'data');
    const badDir = Buffer.concat([Buffer.from(`${data}/drop-`), Buffer.from([0xff, 0xfe])]);
    const nested = Buffer.concat([badDir, Buffer.from('/deeper')]);
    const top = Buffer.concat([badDir, Buffer.from('/shell.com')]);
    const deep = Buffer.concat([nested, Buffer.from('/miner.com')]);
    try {
      await mkdir(data);
      await mkdir(badDir);
      await mkdir(nested);
      await writeFile(top, EICAR_TEST_STRING);
      await writeFile(deep, EICAR_TEST_STRING);
      await writeFile(Buffer.concat([nested, Buffer.from('/notes.txt')]), 'benign\n');
      const watcher = new FileWatcher({ roots: [data], detectors: testDetectors(), threads: 1, events: false, fallbackInterval: '1h', reconcileInterval: '1h', persistent: true });
      const findings: Finding[] = [];
      watcher.on('finding', (f) => findings.push(f));
      const crawled = nextCrawl(watcher, 'start');
      await watcher.start();
      const report = await crawled;
      await watcher.idle();
      await watcher.stop();
      for (const planted of [top, deep]) assert.equal(findings.filter((f) => f.rawPath?.equals(planted) === true).length, 1, `${planted.toString('latin1')} is found`);
      assert.equal(report.files, 3, JSON.stringify(report));
      assert.equal(report.directories, 3, 'the root, the undecodable directory and the one under it');
    } finally {
      await cleanup();
    }
  });

  it('are indexed by their bytes: scanned once, not again by later crawls or after a restart, again once changed', async () => {
    const { dir, cleanup } = await tempDir('hostwarden-watch-raw-');
    const data = join(dir, 'data');
    const stateFile = join(dir, 'watch.index');
    // \xe9 alone is latin1 "é": its key must not be confused with the UTF-8 name "é" beside it.
    const raw = Buffer.concat([Buffer.from(`${data}/bad-`), Buffer.from([0xe9, 0xff]), Buffer.from('.com')]);
    const options = { roots: [data], stateFile, detectors: testDetectors(), threads: 1, events: false, fallbackInterval: '1h', reconcileInterval: '1h', persistent: true } as const;
    try {
      await mkdir(data);
      await writeFile(raw, EICAR_TEST_STRING);
      await writeFile(join(data, 'bad-é.com'), 'benign\n');
      const first = new FileWatcher(options);
      const findings: Finding[] = [];
      first.on('finding', (f) => findings.push(f));
      const started = nextCrawl(first);
      await first.start();
      await started;
      await first.idle();
      assert.equal(first.status.scanned, 2, 'both files are scanned by the first crawl');
      assert.equal(findings.filter((f) => f.rawPath?.equals(raw) === true).length, 1);
      for (let i = 0; i < 2; i++) {
        const report = await first.reconcile();
        await first.idle();
        assert.equal(report.changed, 0, JSON.stringify(report));
      }
      assert.equal(first.status.scanned, 2, 'an unchanged name is not scanned again');
      await appendFile(raw, '\n');
      assert.equal((await first.reconcile()).changed, 1);
      await first.idle();
      assert.equal(first.status.scanned, 3, 'a changed one is');
      await first.stop();

      const second = new FileWatcher(options);
      const crawled = nextCrawl(second, 'start');
      await second.start();
      const report = await crawled;
      await second.idle();
      await second.stop();
      assert.equal(report.changed, 0, `after a restart the state file knows it: ${JSON.stringify(report)}`);
      assert.equal(second.status.scanned, 0);
    } finally {
      await cleanup();
    }
  });
});

describe('FileWatcher options', () => {
  it('rejects unknown keys with a suggestion, and bad values by name', () => {
    assert.throws(
      () => new FileWatcher({ roots: ['/tmp'], reconcileIntervall: 1000 } as never),
      (e: unknown) => e instanceof InvalidOptionError && /did you mean `reconcileInterval`/.test(e.message),
    );
    assert.throws(() => new FileWatcher({ roots: [] }), /`roots`/);
    assert.throws(() => new FileWatcher({ roots: ['/tmp'], reconcileInterval: 2 ** 31 }), /`reconcileInterval`/);
    assert.throws(() => new FileWatcher({ roots: ['/tmp'], settle: -1 }), /`settle`/);
  });

  it('refuses to start on a root that does not exist', async () => {
    const watcher = new FileWatcher({ roots: ['/nonexistent/hostwarden-root'] });
    await assert.rejects(watcher.start(), /Cannot watch/);
    assert.equal(watcher.health().state, 'stopped');
  });
});
