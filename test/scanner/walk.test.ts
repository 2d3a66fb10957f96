import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync, symlinkSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rm, stat, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  EICAR_TEST_STRING,
  executableDetector,
  extensionDetector,
  FileScanner,
  Quarantine,
  hashDetector,
  type Detector,
  type ScanReport,
  type ScanWarning,
} from '../../src/index.js';
import { peImage, tempDir } from './samples.js';
import { optionalPeer } from '../helpers/peers.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

async function scanWithWarnings(scanner: FileScanner): Promise<{ report: ScanReport; warnings: ScanWarning[] }> {
  const warnings: ScanWarning[] = [];
  scanner.on('warning', (w) => warnings.push(w));
  const report = await scanner.scan();
  return { report, warnings };
}

describe('walking: symlinks, loops, special files', () => {
  let dir: string;
  let root: string;
  let outside: string;
  let cleanup: () => Promise<void>;
  const payload = peImage({ size: 2048 });

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, 'root');
    outside = join(dir, 'outside');
    await mkdir(join(root, 'sub'), { recursive: true });
    await mkdir(outside);
    // Outside the root: a PE that must never be read through a link.
    await writeFile(join(outside, 'secret-malware.exe'), payload);
    await writeFile(join(outside, 'target.bin'), payload);
    await symlink(join(outside, 'target.bin'), join(root, 'link-to-file.exe'));
    await symlink(join(outside, 'target.bin'), join(root, 'innocent-link'));
    await symlink(outside, join(root, 'link-to-dir'));
    await symlink('.', join(root, 'sub', 'self-loop'));
    await symlink(join(root, 'loop-b'), join(root, 'loop-a'));
    await symlink(join(root, 'loop-a'), join(root, 'loop-b'));
    await symlink(join(dir, 'does-not-exist'), join(root, 'dangling.dll'));
    await writeFile(join(root, 'sub', 'real.exe'), payload);
    execFileSync('mkfifo', [join(root, 'pipe.exe')]);
    execFileSync('mkfifo', [join(root, 'sub', 'plain-fifo')]);
  });
  after(() => cleanup());

  it('never follows a link, reports links by name, never opens FIFOs, and terminates', async () => {
    const scanner = new FileScanner({
      roots: [root],
      threads: 1,
      detectors: [extensionDetector(), executableDetector(), hashDetector({ sha256: [sha256(payload)] })],
    });
    const { report, warnings } = await scanWithWarnings(scanner);
    const rel = (p: string) => p.slice(root.length + 1);

    // Only the one real file inside the root was read.
    assert.equal(report.filesScanned, 1);
    assert.equal(report.bytesHashed, payload.length);
    assert.equal(report.findings.filter((f) => f.path.includes('outside') || f.path.includes('secret')).length, 0);
    assert.deepEqual(
      report.findings.filter((f) => f.rule === 'file.hash-match').map((f) => rel(f.path)),
      ['sub/real.exe'],
    );
    // Links whose names match are reported without reading the target.
    const linkFindings = report.findings
      .filter((f) => f.labels['kind'] === 'symlink')
      .map((f) => rel(f.path))
      .sort();
    assert.deepEqual(linkFindings, ['dangling.dll', 'link-to-file.exe']);
    assert.match(report.findings.find((f) => f.path.endsWith('link-to-file.exe'))?.reason ?? '', /symbolic link named \.exe \(target not read\)/);
    assert.equal(
      report.findings.some((f) => f.path.endsWith('innocent-link')),
      false,
    );
    assert.equal(report.symlinks, 7);
    // FIFOs are listed as skipped special files; the one named .exe is still reported by name.
    const special = report.skipped
      .filter((s) => s.reason === 'special-file')
      .map((s) => rel(s.path))
      .sort();
    assert.deepEqual(special, ['pipe.exe', 'sub/plain-fifo']);
    assert.ok(report.findings.some((f) => f.path.endsWith('pipe.exe') && f.labels['kind'] === 'fifo'));
    // Link loops and dangling links are not trouble: no warnings at all.
    assert.deepEqual(warnings, []);
    assert.equal(report.directories, 2);
  });

  it('honours exclude globs by name, relative and absolute path', async () => {
    await mkdir(join(root, 'node_modules', 'pkg'), { recursive: true });
    await writeFile(join(root, 'node_modules', 'pkg', 'bundled.exe'), payload);
    await writeFile(join(root, 'sub', 'ignored.exe'), payload);
    await writeFile(join(root, 'sub', 'also.exe'), payload);
    try {
      const scanner = new FileScanner({
        roots: [root],
        threads: 1,
        detectors: [extensionDetector()],
        exclude: ['node_modules', 'sub/ignored.*', `${root}/sub/also.exe`],
      });
      const report = await scanner.scan();
      const names = report.findings.filter((f) => f.labels['kind'] === undefined).map((f) => f.path.slice(root.length + 1));
      assert.deepEqual(names, ['sub/real.exe']);
    } finally {
      await rm(join(root, 'node_modules'), { recursive: true });
      await rm(join(root, 'sub', 'ignored.exe'));
      await rm(join(root, 'sub', 'also.exe'));
    }
  });
});

describe('walking: files that vanish, change, or are huge', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  after(() => cleanup());

  it('reports files that vanish during the scan as warnings and skips, and goes on', async () => {
    const tree = join(dir, 'vanish');
    await mkdir(tree);
    const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, '0')}.exe`);
    for (const name of names) await writeFile(join(tree, name), peImage());
    let deleted = false;
    // The first file inspected deletes all the others, which the walk has already listed.
    const saboteur: Detector = {
      name: 'saboteur',
      async inspect(file) {
        if (!deleted) {
          deleted = true;
          for (const name of names) if (!file.path.endsWith(name)) await unlink(join(tree, name));
        }
        return [];
      },
    };
    const scanner = new FileScanner({ roots: [tree], threads: 1, concurrency: 1, detectors: [saboteur, executableDetector()] });
    const { report, warnings } = await scanWithWarnings(scanner);
    assert.equal(report.filesScanned, 1);
    assert.equal(report.skippedCount, names.length - 1);
    assert.ok(report.skipped.every((s) => s.reason === 'vanished'));
    assert.equal(warnings.length, names.length - 1);
    assert.ok(warnings.every((w) => w.code === 'vanished' && /ENOENT/.test(w.message)));
  });

  it('reports a file replaced by a symlink between its lstat and its read as changed, without reading the target', async () => {
    const tree = join(dir, 'swap');
    await mkdir(tree);
    await writeFile(join(tree, 'victim.txt'), 'victim');
    const target = peImage();
    await writeFile(join(dir, 'target.exe'), target);
    let swapped = false;
    // needs() runs after the lstat and before the content is read: the attacker's window.
    const swapper: Detector = {
      name: 'swapper',
      needs(file) {
        if (!swapped && file.name === 'victim.txt') {
          swapped = true;
          rmSync(file.path);
          symlinkSync(join(dir, 'target.exe'), file.path);
        }
        return { hashes: ['sha256'] };
      },
      inspect: () => [],
    };
    const scanner = new FileScanner({
      roots: [tree],
      threads: 1,
      detectors: [swapper, executableDetector(), hashDetector({ sha256: [sha256(target)] })],
    });
    const { report, warnings } = await scanWithWarnings(scanner);
    assert.equal(report.findings.length, 0, 'the PE behind the link must not be read');
    assert.equal(report.bytesHashed, 0);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.code, 'changed');
    assert.match(warnings[0]?.message ?? '', /symbolic link/);

    // Swapped before the scan looks at it at all: judged as the symlink it now is.
    const again = await scanWithWarnings(new FileScanner({ roots: [tree], threads: 1, detectors: [executableDetector(), hashDetector({ sha256: [sha256(target)] })] }));
    assert.equal(again.report.findings.length, 0);
    assert.equal(again.report.symlinks, 1);
    assert.deepEqual(again.warnings, []);
  });

  it('walks a listed file that became a directory, but not one that became a link to a directory', async () => {
    const tree = join(dir, 'became-dir');
    await mkdir(tree);
    const names = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'];
    for (const name of names) await writeFile(join(tree, name), 'listed as a file');
    const outside = join(dir, 'outside-dir');
    await mkdir(outside);
    await writeFile(join(outside, 'outside.exe'), peImage());
    let trigger: string | undefined;
    // The first entry inspected turns the others (already listed) into directories or links.
    const saboteur: Detector = {
      name: 'saboteur',
      async inspect(file) {
        if (trigger === undefined) {
          trigger = file.name;
          for (const [i, name] of names.entries()) {
            if (name === trigger) continue;
            await rm(join(tree, name));
            if (i % 2 === 0) {
              await mkdir(join(tree, name));
              await writeFile(join(tree, name, 'inner.exe'), peImage());
            } else {
              await symlink(outside, join(tree, name));
            }
          }
        }
        return [];
      },
    };
    const scanner = new FileScanner({ roots: [tree], threads: 1, concurrency: 1, detectors: [saboteur, extensionDetector()] });
    const { report } = await scanWithWarnings(scanner);
    const expected = names.filter((name, i) => i % 2 === 0 && name !== trigger).map((name) => `${name}/inner.exe`);
    assert.deepEqual(report.findings.map((f) => f.path.slice(tree.length + 1)).sort(), expected);
    assert.equal(report.symlinks, names.filter((name, i) => i % 2 === 1 && name !== trigger).length);
  });

  it('scans, reports and quarantines names that are not valid UTF-8, byte for byte', async () => {
    const tree = join(dir, 'latin1');
    await mkdir(tree);
    const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');
    // Two names that decode to the same lossy string, a directory that is not UTF-8 with a
    // file inside, and a valid name that really contains U+FFFD.
    await writeFile(bytes(`${tree}/caf\xe9.pdf`), peImage());
    await writeFile(bytes(`${tree}/caf\xe8.pdf`), 'harmless text');
    await mkdir(bytes(`${tree}/d\xff`));
    await writeFile(bytes(`${tree}/d\xff/inner\xfe.bin`), EICAR_TEST_STRING);
    await writeFile(join(tree, 'real\uFFFD.txt'), 'plain');
    const qdir = join(dir, 'latin1-q');
    const quarantine = new Quarantine({ directory: qdir });
    const scanner = new FileScanner({ roots: [tree], threads: 1, quarantine: { into: quarantine, minSeverity: 'critical' } });
    const { report, warnings } = await scanWithWarnings(scanner);
    assert.deepEqual(warnings, []);
    assert.equal(report.filesScanned, 4);
    const byDisplay = new Map(report.findings.map((f) => [f.displayPath, f]));
    const pe = byDisplay.get(`${tree}/caf\\xe9.pdf`);
    assert.ok(pe, [...byDisplay.keys()].join(', '));
    assert.deepEqual(pe.rawPath, bytes(`${tree}/caf\xe9.pdf`));
    assert.equal(pe.path, `${tree}/caf\uFFFD.pdf`);
    const eicar = report.findings.find((f) => f.rule === 'file.signature');
    assert.ok(eicar);
    assert.equal(eicar.displayPath, `${tree}/d\\xff/inner\\xfe.bin`);
    assert.ok(!report.findings.some((f) => f.displayPath.includes('xe8')), 'the harmless twin is judged on its own content');
    // Quarantined exactly the files found; the harmless twin with the same lossy name stays.
    const records = await quarantine.list();
    assert.deepEqual(records.map((r) => r.rawOriginalPath?.toString('latin1')).sort(), [`${tree}/caf\xe9.pdf`, `${tree}/d\xff/inner\xfe.bin`].sort());
    assert.equal(await readFile(bytes(`${tree}/caf\xe8.pdf`), 'utf8'), 'harmless text');
    for (const record of records) await quarantine.restore(record.id);
    assert.deepEqual(await readFile(bytes(`${tree}/caf\xe9.pdf`)), peImage());
    assert.equal(await readFile(bytes(`${tree}/d\xff/inner\xfe.bin`), 'utf8'), EICAR_TEST_STRING);
  });

  it('does not read a 10 GB sparse file: judged by name and head, listed as too large', async () => {
    const tree = join(dir, 'huge');
    await mkdir(tree);
    const path = join(tree, 'disk-image.exe');
    const handle = await open(path, 'w');
    await handle.write(peImage());
    await handle.close();
    await truncate(path, 10 * 1024 ** 3);
    assert.equal((await stat(path)).size, 10 * 1024 ** 3);
    const scanner = new FileScanner({
      roots: [tree],
      threads: 1,
      maxFileSize: 64 * 1024 * 1024,
      detectors: [extensionDetector(), executableDetector(), hashDetector({ sha256: [sha256('x')] })],
    });
    const { report, warnings } = await scanWithWarnings(scanner);
    assert.equal(report.bytesHashed, 0);
    assert.deepEqual(
      report.skipped.map((s) => s.reason),
      ['too-large'],
    );
    assert.deepEqual(warnings, [], 'a policy skip is listed, not warned about');
    assert.deepEqual(report.findings.map((f) => f.detector).sort(), ['executable', 'extension']);
  });
});

describe('walking: permissions and mounts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await chmod(dir, 0o755);
  });
  after(() => cleanup());

  it('reports unreadable files and directories (EACCES) and still judges names', async (t) => {
    const tree = join(dir, 'perm');
    await mkdir(join(tree, 'locked'), { recursive: true });
    await writeFile(join(tree, 'locked', 'hidden.exe'), peImage());
    await writeFile(join(tree, 'secret.exe'), peImage());
    await writeFile(join(tree, 'open.txt'), 'fine');
    await chmod(join(tree, 'locked'), 0o000);
    await chmod(join(tree, 'secret.exe'), 0o000);
    await chmod(tree, 0o755);
    const fixture = fileURLToPath(new URL('./fixtures/scan-tree.ts', import.meta.url));
    const repo = fileURLToPath(new URL('../..', import.meta.url));
    let output: string;
    if (process.getuid?.() === 0) {
      // Root ignores permission bits. The scan runs in a child that keeps uid 0 but loses
      // CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (as a hardened service would), so it meets
      // these files exactly as an unprivileged scanner does; failing that, as `nobody`.
      const dropCaps = ['--bounding-set', '-dac_override,-dac_read_search'];
      const run = (file: string, args: string[], options: { uid?: number; gid?: number } = {}): Promise<string> =>
        new Promise((resolve, reject) => {
          execFile(file, args, { ...options, cwd: repo, env: { ...process.env, HOME: '/tmp' }, timeout: 60_000 }, (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
          );
        });
      const node = [process.execPath, '--import=tsx/esm', fixture, tree];
      optionalPeer(t, 'setpriv'); // fails the test in CI when setpriv is missing, rather than falling back
      if (
        await run('setpriv', [...dropCaps, 'true']).then(
          () => true,
          () => false,
        )
      ) {
        output = await run('setpriv', [...dropCaps, ...node]);
        t.diagnostic('ran the scan as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (setpriv)');
      } else if (
        await run(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(fixture)})`], { uid: 65534, gid: 65534 }).then(
          () => true,
          () => false,
        )
      ) {
        output = await run(node[0] as string, node.slice(1), { uid: 65534, gid: 65534 });
        t.diagnostic('ran the scan as uid 65534');
      } else {
        await chmod(join(tree, 'locked'), 0o755);
        t.skip('running as root, and neither setpriv nor uid 65534 can drop the permission bypass here');
        return;
      }
    } else {
      const scanner = new FileScanner({ roots: [tree], threads: 1 });
      const result = await scanWithWarnings(scanner);
      output = JSON.stringify(result);
    }
    await chmod(join(tree, 'locked'), 0o755);
    const { report, warnings } = JSON.parse(output) as { report: ScanReport; warnings: ScanWarning[] };
    const rel = (p: string) => p.slice(tree.length + 1);
    assert.deepEqual(warnings.map((w) => `${rel(w.path)}:${w.code}`).sort(), ['locked:unreadable', 'secret.exe:unreadable']);
    assert.deepEqual(report.skipped.map((s) => `${rel(s.path)}:${s.reason}`).sort(), ['locked:unreadable', 'secret.exe:unreadable']);
    // The name alone still gives secret.exe away.
    assert.deepEqual(
      report.findings.map((f) => `${rel(f.path)}:${f.detector}`),
      ['secret.exe:extension'],
    );
    assert.equal(report.filesScanned, 1);
  });

  it('crosses into a file system mounted below the root like clamscan, and stays out only when asked', async () => {
    // A real tmpfs mounted inside the scanned tree (the tests run as root, as CI does).
    const tree = join(dir, 'mounts');
    const mountPoint = join(tree, 'mnt');
    await mkdir(mountPoint, { recursive: true });
    await writeFile(join(tree, 'outside.txt'), 'plain');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'hostwarden-test', mountPoint]);
    try {
      await writeFile(join(mountPoint, 'eicar.com'), EICAR_TEST_STRING);
      const crossed = await new FileScanner({ roots: [tree], threads: 1 }).scan();
      assert.deepEqual(
        crossed.findings.map((f) => f.path),
        [join(mountPoint, 'eicar.com')],
      );
      assert.equal(crossed.skippedCount, 0);

      const oneScanner = new FileScanner({ roots: [tree], threads: 1, oneFileSystem: true });
      const warned: string[] = [];
      oneScanner.on('warning', (w) => warned.push(w.code));
      const one = await oneScanner.scan();
      assert.deepEqual(one.findings, []);
      assert.deepEqual(
        one.skipped.map((s) => `${s.path}:${s.reason}`),
        [`${mountPoint}:other-filesystem`],
      );
      assert.equal(warned.includes('other-filesystem'), false, 'staying on one file system is policy, not a warning');
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('never opens devices (scanning /dev)', async () => {
    const one = await new FileScanner({ roots: ['/dev'], threads: 1, detectors: [extensionDetector()], oneFileSystem: true }).scan();
    assert.ok(one.skipped.some((s) => s.reason === 'special-file'));
    assert.equal(one.bytesHashed, 0);
  });
});
