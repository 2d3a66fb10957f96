import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, rename, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AbortedError,
  EICAR_SIGNATURE,
  EICAR_TEST_STRING,
  executableDetector,
  extensionDetector,
  FileScanner,
  hashDetector,
  InvalidOptionError,
  ListenerError,
  Quarantine,
  signatureDetector,
  StateError,
  type Alert,
  type Detector,
  type Finding,
  type QuarantinedEvent,
  type ScanProgress,
} from '../../src/index.js';
import { peImage, tempDir } from './samples.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

describe('FileScanner', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('emits a finding and an alert per finding, with escaped paths and stable keys', async () => {
    const tree = join(dir, 'events');
    await mkdir(tree);
    const evil = 'evil\n\u202Etxt.exe';
    await writeFile(join(tree, evil), peImage());
    const time = new Date('2025-01-01T00:00:00Z');
    const scanner = new FileScanner({ roots: [tree], threads: 1, clock: () => time.getTime() });
    const findings: Finding[] = [];
    const alerts: Alert[] = [];
    scanner.on('finding', (f) => findings.push(f));
    scanner.on('alert', (a) => alerts.push(a));
    const report = await scanner.scan();
    assert.equal(findings.length, 2);
    assert.deepEqual(report.findings, findings);
    const shown = `${tree}/evil\\n\\u202etxt.exe`;
    for (const f of findings) {
      assert.equal(f.path, join(tree, evil), 'the exact path, for code that acts on it');
      assert.equal(f.displayPath, shown, 'the escaped path, for people');
    }
    assert.equal(alerts.length, 2);
    const ext = alerts.find((a) => a.rule === 'file.extension') as Alert;
    assert.equal(ext.source, 'file');
    const st = await stat(join(tree, evil));
    assert.equal(ext.key, `file:file.extension:${st.dev}:${st.ino}:${st.ctimeMs}:${sha256(peImage())}`, 'an event: the file itself, never attacker text');
    assert.equal(ext.status, 'firing');
    assert.deepEqual(ext.time, time);
    assert.equal(ext.labels['path'], shown);
    assert.equal(ext.labels['detector'], 'extension');
    assert.ok(!ext.title.includes('\n') && !ext.title.includes('\u202E'), 'no raw control or bidi characters in the title');
    assert.ok(alerts.some((a) => a.rule === 'file.executable' && a.severity === 'warning'));
    assert.equal(report.durationMs, 0);
  });

  it("a finding's path isolates exactly the file found, never one named like its rendering", async () => {
    const tree = join(dir, 'lookalike');
    await mkdir(tree, { recursive: true });
    const hostile = join(tree, 'a\nb.exe');
    // An innocent file whose name is the escaped rendering of the hostile one.
    const decoy = join(tree, 'a\\x0ab.exe');
    await writeFile(hostile, peImage());
    await writeFile(decoy, 'innocent notes');
    const scanner = new FileScanner({ roots: [tree], threads: 1, detectors: [executableDetector()] });
    const report = await scanner.scan();
    assert.equal(report.findings.length, 1, 'only the PE is a finding');
    const finding = report.findings[0] as Finding;
    assert.equal(finding.path, hostile);
    const quarantine = new Quarantine({ directory: join(dir, 'lookalike-q') });
    const record = await quarantine.isolate(finding.path, { reason: finding.reason });
    assert.equal(record.originalPath, hostile);
    await assert.rejects(stat(hostile), { code: 'ENOENT' });
    assert.equal(await readFile(decoy, 'utf8'), 'innocent notes', 'the look-alike file is untouched');
  });

  it('keeps alert titles short for deep paths, with the file name', async () => {
    const deep = join(dir, 'deep', ...Array.from({ length: 12 }, (_, i) => `directory-level-${i}`));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'payload.exe'), peImage());
    const scanner = new FileScanner({ roots: [join(dir, 'deep')], threads: 1, detectors: [extensionDetector()] });
    const alerts: Alert[] = [];
    scanner.on('alert', (a) => alerts.push(a));
    const report = await scanner.scan();
    assert.ok((report.findings[0]?.path.length ?? 0) > 250);
    assert.equal(alerts.length, 1);
    assert.ok((alerts[0]?.title.length ?? 0) < 260);
    assert.match(alerts[0]?.title ?? '', /….*\/payload\.exe$/);
    assert.equal(alerts[0]?.labels['path'], report.findings[0]?.path);
  });

  it('isolates findings at or above minSeverity and emits quarantined', async () => {
    const tree = join(dir, 'isolate');
    await mkdir(tree);
    await writeFile(join(tree, 'eicar.com'), EICAR_TEST_STRING);
    await writeFile(join(tree, 'script.sh'), '#!/bin/sh\necho hi\n');
    await writeFile(join(tree, 'invoice.pdf'), peImage());
    const quarantine = new Quarantine({ directory: join(dir, 'q') });
    const scanner = new FileScanner({
      roots: [tree],
      threads: 2,
      detectors: [extensionDetector(), executableDetector(), signatureDetector({ signatures: [EICAR_SIGNATURE] })],
      quarantine: { into: quarantine, minSeverity: 'critical' },
    });
    const events: QuarantinedEvent[] = [];
    scanner.on('quarantined', (e) => events.push(e));
    const report = await scanner.scan();
    assert.deepEqual(events.map((e) => e.record.originalPath).sort(), [join(tree, 'eicar.com'), join(tree, 'invoice.pdf')]);
    assert.equal(report.quarantined.length, 2);
    const eicar = events.find((e) => e.record.originalPath.endsWith('eicar.com')) as QuarantinedEvent;
    assert.equal(eicar.finding.rule, 'file.signature');
    assert.equal(eicar.record.sha256, sha256(EICAR_TEST_STRING));
    assert.match(eicar.record.reason, /^file\.signature: contains signature/);
    assert.ok(await stat(join(tree, 'script.sh')), 'an info finding stays in place');
    assert.deepEqual((await quarantine.list()).map((r) => r.id).sort(), [...report.quarantined].sort());
  });

  it('announces a re-infection at the same path as a new alert (event keys: dev, inode, ctime, sha256)', async () => {
    const tree = join(dir, 'reinfection');
    await mkdir(tree);
    const path = join(tree, 'eicar.com');
    const quarantine = new Quarantine({ directory: join(dir, 'reinfection-q') });
    const scanner = new FileScanner({ roots: [tree], threads: 1, quarantine: { into: quarantine } });
    const keys: string[] = [];
    scanner.on('alert', (a) => a.rule === 'file.signature' && keys.push(a.key));
    await writeFile(path, EICAR_TEST_STRING);
    const first = await scanner.scan();
    assert.equal(first.quarantined.length, 1);
    await writeFile(path, EICAR_TEST_STRING);
    const second = await scanner.scan();
    assert.equal(second.quarantined.length, 1);
    assert.equal(keys.length, 2);
    assert.notEqual(keys[0], keys[1], 'the second infection is a new event');
    for (const key of keys) assert.ok(key.endsWith(`:${sha256(EICAR_TEST_STRING)}`), key);
    // The same untouched file found twice is one event: the same key.
    const stay = join(dir, 'reinfection-stay');
    await mkdir(stay);
    await writeFile(join(stay, 'eicar.com'), EICAR_TEST_STRING);
    const again: string[] = [];
    const plain = new FileScanner({ roots: [stay], threads: 1 });
    plain.on('alert', (a) => a.rule === 'file.signature' && again.push(a.key));
    await plain.scan();
    await plain.scan();
    assert.equal(again.length, 2);
    assert.equal(again[0], again[1]);
  });

  it('scanPaths scans exactly the given files and directories, never following a link', async () => {
    const tree = join(dir, 'paths');
    await mkdir(join(tree, 'sub'), { recursive: true });
    await writeFile(join(tree, 'eicar.com'), EICAR_TEST_STRING);
    await writeFile(join(tree, 'not-asked.exe'), peImage());
    await writeFile(join(tree, 'sub', 'invoice.pdf'), peImage());
    await symlink(join(tree, 'eicar.com'), join(tree, 'link.txt'));
    const scanner = new FileScanner({ roots: ['/nonexistent-root-never-walked'], threads: 1 });
    const report = await scanner.scanPaths([join(tree, 'eicar.com'), join(tree, 'link.txt'), join(tree, 'sub'), join(tree, 'gone')]);
    assert.deepEqual(report.roots, [join(tree, 'eicar.com'), join(tree, 'link.txt'), join(tree, 'sub'), join(tree, 'gone')]);
    assert.deepEqual(report.findings.map((f) => `${f.path.slice(tree.length + 1)}:${f.rule}`).sort(), ['eicar.com:file.signature', 'sub/invoice.pdf:file.executable']);
    assert.equal(report.filesScanned, 2, 'the two regular files; the link is judged as a link');
    assert.equal(report.symlinks, 1);
    assert.deepEqual(
      report.skipped.map((s) => `${s.path.slice(tree.length + 1)}:${s.reason}`),
      ['gone:vanished'],
    );
  });

  it('takes a directory for the quarantine and warns (not crashes) when isolation is refused', async () => {
    const tree = join(dir, 'refused');
    await mkdir(tree);
    await writeFile(join(tree, 'x.pdf'), peImage());
    const swapOnFinding: Detector = {
      name: 'swap',
      // Runs after the executable detector flagged the file: replace it before isolation.
      async inspect(file) {
        if (file.name === 'x.pdf') {
          await writeFile(join(tree, 'y.tmp'), 'replacement');
          const { rename } = await import('node:fs/promises');
          await rename(join(tree, 'y.tmp'), join(tree, 'x.pdf'));
        }
        return [];
      },
    };
    const scanner = new FileScanner({
      roots: [tree],
      threads: 1,
      detectors: [executableDetector(), swapOnFinding],
      quarantine: { into: join(dir, 'q2') },
    });
    const warnings: string[] = [];
    scanner.on('warning', (w) => warnings.push(`${w.code}:${w.message}`));
    const report = await scanner.scan();
    assert.equal(report.quarantined.length, 0);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /^quarantine-failed:.*different file/);
    assert.equal(await readFile(join(tree, 'x.pdf'), 'utf8'), 'replacement', 'the replacement was not moved');
  });

  it('emits throttled progress with the documented counters, and a final one', async () => {
    const tree = join(dir, 'progress');
    await mkdir(tree);
    for (let i = 0; i < 30; i++) await writeFile(join(tree, `f${i}.txt`), `file ${i}`);
    await writeFile(join(tree, 'bad.exe'), peImage());
    const scanner = new FileScanner({ roots: [tree], threads: 1, progressInterval: 60_000, detectors: [extensionDetector(), hashDetector({ sha256: [sha256('nothing')] })] });
    const progress: ScanProgress[] = [];
    scanner.on('progress', (p) => progress.push(p));
    const report = await scanner.scan();
    assert.equal(progress.length, 1, 'only the final event within the interval');
    const last = progress[0] as ScanProgress;
    assert.equal(last.filesScanned, 31);
    assert.equal(last.bytesScanned, report.bytesScanned);
    assert.equal(last.bytesHashed, report.bytesScanned);
    assert.equal(last.findings, 1);
    assert.equal(report.findingCount, 1);
    assert.equal(last.skipped, 0);
    assert.equal(last.cached, 0);
    assert.equal(typeof last.currentPath, 'string');
  });

  it('skips unchanged clean files on a rescan, persisted in a cache file, and rescans changed ones', async () => {
    const tree = join(dir, 'cache');
    await mkdir(tree);
    for (let i = 0; i < 10; i++) await writeFile(join(tree, `clean${i}.txt`), `clean ${i}`);
    await writeFile(join(tree, 'bad.exe'), peImage());
    const cacheFile = join(dir, 'scan.cache');
    const options = { roots: [tree], threads: 1, cache: { file: cacheFile }, detectors: [extensionDetector(), hashDetector({ sha256: [sha256('x')] })] };
    const first = await new FileScanner(options).scan();
    assert.equal(first.cached, 0);
    assert.equal(first.findings.length, 1);
    assert.match(await readFile(cacheFile, 'utf8'), /^hostwarden-scan-cache 1 /);

    // A new scanner (a new process, say) reads the cache file.
    const scanner = new FileScanner(options);
    const second = await scanner.scan();
    assert.equal(second.cached, 10);
    assert.equal(second.bytesHashed, peImage().length, 'only the file with a finding is read again');
    assert.equal(second.findings.length, 1, 'a file with findings is reported every time');

    // Touching a file (mtime, and so ctime) invalidates its entry.
    await utimes(join(tree, 'clean3.txt'), new Date(), new Date('2020-01-01'));
    await writeFile(join(tree, 'clean4.txt'), 'now different');
    const third = await scanner.scan();
    assert.equal(third.cached, 8);

    // A damaged cache file is only a cache: ignored, and rewritten.
    await writeFile(cacheFile, 'garbage\n\u0000\u0001');
    const fresh = await new FileScanner(options).scan();
    assert.equal(fresh.cached, 0);
    assert.equal(fresh.findings.length, 1);
    assert.equal((await new FileScanner(options).scan()).cached, 10);

    // New signatures invalidate the whole cache.
    const other = await new FileScanner({ ...options, detectors: [extensionDetector(), hashDetector({ sha256: [sha256('y')] })] }).scan();
    assert.equal(other.cached, 0);
  });

  it('never writes or reads the scan cache through a planted symlink', async () => {
    const tree = join(dir, 'cache-symlink');
    await mkdir(tree);
    await writeFile(join(tree, 'clean.txt'), 'clean');
    const victim = join(dir, 'cache-victim');
    await writeFile(victim, 'precious');
    const cacheFile = join(dir, 'symlinked.cache');
    // v1 wrote `${file}.${pid}.tmp` opened with 'w': a symlink there was followed.
    await symlink(victim, `${cacheFile}.${process.pid}.tmp`);
    await symlink(victim, cacheFile);
    const options = { roots: [tree], threads: 1, cache: { file: cacheFile } };
    await new FileScanner(options).scan();
    assert.equal(await readFile(victim, 'utf8'), 'precious');
    assert.equal((await lstat(cacheFile)).isSymbolicLink(), false, 'the symlink itself is replaced');
    assert.match(await readFile(cacheFile, 'utf8'), /^hostwarden-scan-cache 1 /);
    // A cache that is a symlink (to a file the attacker wrote) is not trusted when read.
    const forged = join(dir, 'forged.cache');
    await rename(cacheFile, forged);
    await symlink(forged, cacheFile);
    const warnings: unknown[] = [];
    const scanner = new FileScanner(options);
    scanner.on('warning', (warning) => warnings.push(warning));
    const report = await scanner.scan();
    assert.equal(report.cached, 0);
    assert.deepEqual(
      warnings.map((w) => (w as { code: string }).code),
      ['cache-failed'],
      'an ignored cache is said, not silent',
    );
  });

  it('is cancelled by an AbortSignal and refuses overlapping scans', async () => {
    const tree = join(dir, 'abort');
    await mkdir(tree);
    for (let i = 0; i < 50; i++) await writeFile(join(tree, `f${i}.bin`), Buffer.alloc(10_000, i));
    const controller = new AbortController();
    let seen = 0;
    const slow: Detector = {
      name: 'slow',
      async inspect() {
        if (++seen === 5) controller.abort();
        // The slowness is the point: a detector that takes time, so the abort lands mid-scan.
        await new Promise((r) => setTimeout(r, 5));
        return [];
      },
    };
    const scanner = new FileScanner({ roots: [tree], threads: 1, concurrency: 1, detectors: [slow], signal: controller.signal });
    await assert.rejects(scanner.scan(), AbortedError);
    assert.ok(seen < 50);
    assert.equal(scanner.scanning, false);

    const free = new FileScanner({ roots: [tree], threads: 1, detectors: [slow] });
    const running = free.scan();
    await assert.rejects(free.scan(), StateError);
    await running;
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(free.scan({ signal: pre.signal }), AbortedError);
  });

  it('turns a throwing detector or listener into an error event and goes on', async () => {
    const tree = join(dir, 'throwing');
    await mkdir(tree);
    await writeFile(join(tree, 'a.exe'), peImage());
    await writeFile(join(tree, 'b.exe'), peImage());
    const broken: Detector = {
      name: 'broken',
      inspect(file) {
        if (file.name === 'a.exe') throw new Error('boom');
        return [];
      },
    };
    const scanner = new FileScanner({ roots: [tree], threads: 1, detectors: [broken, extensionDetector()] });
    const errors: Error[] = [];
    scanner.on('error', (e) => errors.push(e));
    scanner.on('finding', () => {
      throw new Error('listener bug');
    });
    const report = await scanner.scan();
    assert.equal(report.findings.length, 2);
    assert.ok(errors.some((e) => /Detector 'broken' failed on .*a\.exe/.test(e.message)));
    assert.equal(errors.filter((e) => e instanceof ListenerError).length, 2);
  });

  it('bounds the findings and skips kept in the report, but counts them all', async () => {
    const tree = join(dir, 'bounded');
    await mkdir(tree);
    for (let i = 0; i < 12; i++) await writeFile(join(tree, `f${i}.exe`), peImage());
    const { execFileSync } = await import('node:child_process');
    for (let i = 0; i < 5; i++) execFileSync('mkfifo', [join(tree, `p${i}`)]);
    const scanner = new FileScanner({ roots: [tree], threads: 1, maxReportedFindings: 5, maxReportedSkips: 2, detectors: [extensionDetector()] });
    let events = 0;
    scanner.on('finding', () => events++);
    const report = await scanner.scan();
    assert.equal(report.findings.length, 5);
    assert.equal(report.findingCount, 12);
    assert.equal(events, 12);
    assert.equal(report.skipped.length, 2);
    assert.equal(report.skippedCount, 5);
  });

  it('scans a root that is a single file, and reports a missing root as skipped', async () => {
    const file = join(dir, 'single.exe');
    await writeFile(file, peImage());
    const report = await new FileScanner({ roots: [file, join(dir, 'missing-root')], threads: 1 }).scan();
    assert.equal(report.filesScanned, 1);
    assert.equal(report.findings.length, 2);
    assert.deepEqual(
      report.skipped.map((s) => s.reason),
      ['vanished'],
    );
  });

  it('validates its options, naming the option', () => {
    assert.throws(
      () => new FileScanner({ roots: [] }),
      (e: unknown) => e instanceof InvalidOptionError && e.option === 'roots',
    );
    assert.throws(() => new FileScanner({ roots: [''] }), /roots\[0\]/);
    assert.throws(() => new FileScanner({ roots: ['/tmp'], maxFileSize: -1 }), /maxFileSize/);
    assert.throws(() => new FileScanner({ roots: ['/tmp'], threads: 0 }), /threads/);
    assert.throws(() => new FileScanner({ roots: ['/tmp'], detectors: [{} as Detector] }), /detectors\[0\]/);
    assert.throws(() => new FileScanner({ roots: ['/tmp'], exclude: [3 as unknown as string] }), /exclude\[0\]/);
    assert.throws(() => new FileScanner({ roots: ['/tmp'], quarantine: { into: '/tmp/q', minSeverity: 'high' as never } }), /quarantine\.minSeverity/);
    assert.throws(() => new FileScanner({ roots: ['/tmp'], oneFileSystem: 'yes' as never }), /oneFileSystem/);
  });
});
