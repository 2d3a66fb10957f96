import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, rename, stat, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { harness, numbered, openDescriptors, tempDir, text } from './helpers.js';

test('startAt end skips existing lines; startAt beginning reads them', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, text(numbered('old', 1, 5)));
  const end = harness(t, { files: [file] });
  const beginning = harness(t, { files: [file], startAt: 'beginning' });
  await end.watcher.start();
  await beginning.watcher.start();
  await appendFile(file, text(numbered('new', 1, 2)));
  await end.waitLines(2);
  await beginning.waitLines(7);
  await end.settle();
  await beginning.settle();
  assert.deepEqual(end.lines, numbered('new', 1, 2));
  assert.deepEqual(beginning.lines, [...numbered('old', 1, 5), ...numbered('new', 1, 2)]);
  // Line numbers are the file's own, also when starting at the end.
  assert.deepEqual(
    end.where.map((w) => w.lineNumber),
    [6, 7],
  );
  assert.equal(end.watcher.stats.filesFollowed, 1);
  assert.equal(end.watcher.stats.linesRead, 2);
});

test('startAt end: a half-written last line is read once it is finished', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, 'done\nhalf of a li');
  const h = harness(t, { files: [file] });
  await h.watcher.start();
  await h.settle();
  assert.deepEqual(h.lines, []);
  await appendFile(file, 'ne\nnext\n');
  await h.waitLines(2);
  assert.deepEqual(h.lines, ['half of a line', 'next']);
});

test('rename+create: the old file is drained, including lines written to it after the rename', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file], rotateGrace: 300 });
  await h.watcher.start();
  await appendFile(file, text(numbered('gen1', 1, 3)));
  await h.waitLines(3);
  await appendFile(file, text(numbered('gen1', 4, 5))); // not read yet when the rotation happens
  await rename(file, `${file}.1`);
  await writeFile(file, text(numbered('gen2', 1, 2)));
  // The daemon has not reopened its log yet: it keeps writing to the renamed file.
  await appendFile(`${file}.1`, text(numbered('gen1', 6, 7)));
  await h.waitLines(9);
  await appendFile(file, text(numbered('gen2', 3, 3)));
  await h.waitLines(10);
  await h.settle();
  const gen1 = h.lines.filter((l) => l.startsWith('gen1'));
  const gen2 = h.lines.filter((l) => l.startsWith('gen2'));
  assert.deepEqual(gen1, numbered('gen1', 1, 7));
  assert.deepEqual(gen2, numbered('gen2', 1, 3));
  assert.equal(h.lines.length, 10);
  // What the old file had before the rename is read before the new file.
  assert.ok(h.lines.indexOf('gen1 5') < h.lines.indexOf('gen2 1'));
  assert.ok(h.rotations.some((r) => r.reason === 'rename' || r.reason === 'create'));
  assert.deepEqual(h.errors, []);
});

test('rename+create: the renamed file is closed after the grace period', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, 'a\n');
  const h = harness(t, { files: [file], startAt: 'beginning', rotateGrace: 5000 });
  await h.watcher.start();
  await h.waitLines(1);
  await rename(file, `${file}.1`);
  await writeFile(file, 'b\n');
  await h.waitLines(2);
  await h.settle();
  assert.equal(await openDescriptors(`${file}.1`), 1, 'the renamed file is held open to drain it');
  h.advance(4000);
  await h.settle();
  assert.equal(await openDescriptors(`${file}.1`), 1, 'still within the grace period');
  h.advance(1000);
  // Nothing more is written to it: after the grace period it is closed.
  for (let i = 0; (await openDescriptors(`${file}.1`)) > 0; i++) {
    assert.ok(i < 200, 'the renamed file was never closed');
    await h.settle();
  }
  assert.equal(await openDescriptors(file), 1);
  assert.deepEqual(h.lines, ['a', 'b']);
});

test('copytruncate: the tail written before the copy is taken from the copy, then the file is reread', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file], watch: false, pollInterval: 60_000 });
  await h.watcher.start();
  await appendFile(file, text(numbered('gen1', 1, 3)));
  await h.waitLines(3);
  // logrotate copytruncate, between two polls: lines 4-5 exist only in the copy afterwards.
  await appendFile(file, text(numbered('gen1', 4, 5)));
  await copyFile(file, `${file}.1`);
  await truncate(file, 0);
  await appendFile(file, text(numbered('gen2', 1, 2)));
  await h.waitLines(7);
  await h.settle();
  assert.deepEqual(h.lines, [...numbered('gen1', 1, 5), ...numbered('gen2', 1, 2)]);
  const truncation = h.rotations.find((r) => r.reason === 'truncate');
  assert.equal(truncation?.previousPath, `${file}.1`);
});

test('copytruncate: a file refilled past the old position is noticed by its fingerprint', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file], watch: false, pollInterval: 60_000 });
  await h.watcher.start();
  await appendFile(file, text(['short 1', 'short 2']));
  await h.waitLines(2);
  await truncate(file, 0);
  // Longer than before: the size alone would not show the truncation.
  await appendFile(file, text(numbered('refilled line that is much longer than before', 1, 4)));
  await h.waitLines(6);
  await h.settle();
  assert.deepEqual(h.lines, ['short 1', 'short 2', ...numbered('refilled line that is much longer than before', 1, 4)]);
  assert.ok(h.rotations.some((r) => r.reason === 'truncate'));
});

test('delete+recreate: a new file at the path is read from its start, even with the same inode number', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, text(numbered('gen1', 1, 2)));
  const h = harness(t, { files: [file], startAt: 'beginning', rotateGrace: 0 });
  await h.watcher.start();
  await h.waitLines(2);
  const before = await stat(file);
  await unlink(file);
  await h.until(() => h.rotations.some((r) => r.reason === 'delete'), 'the delete');
  await h.until(() => h.watcher.stats.filesFollowed === 0, 'the deleted file closed');
  await h.settle(); // past the grace period: the old inode is released and may be reused
  await writeFile(file, text(numbered('gen2', 1, 3)));
  const after = await stat(file);
  t.diagnostic(`inode reused: ${before.ino === after.ino}`);
  await h.waitLines(5);
  await h.settle();
  assert.deepEqual(h.lines, [...numbered('gen1', 1, 2), ...numbered('gen2', 1, 3)]);
  assert.ok(h.rotations.some((r) => r.reason === 'create'));
});

test('a file that does not exist yet (nor its directory) is waited for', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'later', 'auth.log');
  const h = harness(t, { files: [file] });
  await h.watcher.start();
  await h.settle();
  assert.equal(h.watcher.stats.filesFollowed, 0);
  await mkdir(join(dir, 'later'));
  // Appears after start: read from its first line even with startAt 'end'.
  await writeFile(file, text(numbered('x', 1, 3)));
  await h.waitLines(3);
  assert.deepEqual(h.lines, numbered('x', 1, 3));
  assert.deepEqual(
    h.rotations.map((r) => r.reason),
    ['create'],
  );
});

test('a file that vanishes for a while and comes back', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file] });
  await h.watcher.start();
  await appendFile(file, 'one\n');
  await h.waitLines(1);
  await rename(file, join(dir, 'elsewhere'));
  await h.until(() => h.rotations.some((r) => r.reason === 'rename'), 'the rename');
  await appendFile(join(dir, 'elsewhere'), 'two\n');
  await h.waitLines(2);
  // Moved back: the same file, so nothing is read twice.
  await rename(join(dir, 'elsewhere'), file);
  await appendFile(file, 'three\n');
  await h.waitLines(3);
  await h.settle();
  assert.deepEqual(h.lines, ['one', 'two', 'three']);
});

test('several files and a glob; new matches are picked up; symlinks and compressed files are not', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'app'));
  const a = join(dir, 'auth.log');
  const b = join(dir, 'app', 'one.log');
  await writeFile(a, '');
  await writeFile(b, '');
  await writeFile(join(dir, 'secret'), 'do not read\n');
  await symlink(join(dir, 'secret'), join(dir, 'app', 'link.log'));
  await writeFile(join(dir, 'app', 'old.log.gz'), 'zzz\n');
  const h = harness(t, { files: [a, join(dir, 'app', '*.log*')] });
  await h.watcher.start();
  await appendFile(a, 'a1\n');
  await appendFile(b, 'b1\n');
  await h.waitLines(2);
  const c = join(dir, 'app', 'two.log');
  await writeFile(c, 'c1\nc2\n');
  await h.waitLines(4);
  await appendFile(b, 'b2\n');
  await h.waitLines(5);
  await h.settle();
  assert.deepEqual([...h.lines].sort(), ['a1', 'b1', 'b2', 'c1', 'c2']);
  assert.deepEqual(
    h.where.filter((w) => w.file === c).map((w) => w.lineNumber),
    [1, 2],
  );
  assert.ok(!h.watcher.files.includes(join(dir, 'app', 'link.log')));
  assert.ok(!h.watcher.files.includes(join(dir, 'app', 'old.log.gz')));
  assert.equal(h.watcher.stats.filesFollowed, 3);
  assert.ok(
    h.rotations.some((r) => r.file === c && r.reason === 'create'),
    'a file a glob finds later is announced',
  );
});

test('a glob that matches rotated names does not read a renamed file twice', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'app.log');
  await writeFile(file, 'l1\nl2\n');
  const h = harness(t, { files: [join(dir, 'app.log*')], startAt: 'beginning', rotateGrace: 50 });
  await h.watcher.start();
  await h.waitLines(2);
  await rename(file, `${file}.1`);
  await writeFile(file, 'n1\n');
  await h.waitLines(3);
  h.advance(1000); // past the grace period: app.log's tailer lets go of the renamed file
  // Wait until the renamed file was handed from one path to the other.
  await h.until(() => h.watcher.files.includes(`${file}.1`), 'the rotated name followed');
  await appendFile(`${file}.1`, 'l3\n');
  await h.waitLines(4);
  await h.settle();
  assert.deepEqual([...h.lines].sort(), ['l1', 'l2', 'l3', 'n1']);
});

test('a directory or FIFO at the path is reported, not read', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'auth.log');
  await mkdir(path);
  const h = harness(t, { files: [path] });
  await h.watcher.start();
  await h.until(() => h.warnings.some((w) => w.code === 'not-regular'), 'a not-regular warning');
  // Many polls later (each looks at the path again), still one warning.
  const before = h.watcher.stats.linesRead;
  for (let i = 0; i < 4; i++) await h.settle();
  assert.equal(h.watcher.stats.linesRead, before);
  assert.equal(h.warnings.filter((w) => w.code === 'not-regular').length, 1, 'reported once, not every poll');
});

test('a FIFO at the path is reported and never blocks the watcher', async (t) => {
  const dir = await tempDir(t);
  const fifo = join(dir, 'fifo.log');
  const made = spawnSync('mkfifo', [fifo]);
  if (made.status !== 0) return t.skip('mkfifo is not available');
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [fifo, file] });
  await h.watcher.start();
  await appendFile(file, 'still read\n');
  await h.waitLines(1);
  assert.ok(h.warnings.some((w) => w.code === 'not-regular' && w.path === fifo));
  assert.deepEqual(h.lines, ['still read']);
});

test('rotation reasons, each seen between two polls', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, 'g1\n');
  // No fs.watch and a long poll interval: the test decides when the watcher looks.
  const h = harness(t, { files: [file], startAt: 'beginning', watch: false, pollInterval: 60_000, rescanInterval: 60_000 });
  await h.watcher.start();
  await h.waitLines(1);
  const reasons = (): string[] => h.rotations.map((r) => r.reason);

  await rename(file, `${file}.1`);
  await writeFile(file, 'g2\n');
  await h.waitLines(2);
  assert.deepEqual(reasons(), ['rename']);

  await unlink(file);
  await writeFile(file, 'g3\n');
  await h.waitLines(3);
  assert.deepEqual(reasons(), ['rename', 'recreate']);

  await unlink(file);
  await h.watcher.poll();
  assert.deepEqual(reasons(), ['rename', 'recreate', 'delete']);

  await writeFile(file, 'g4\n');
  await h.waitLines(4);
  assert.deepEqual(reasons(), ['rename', 'recreate', 'delete', 'create']);

  await truncate(file, 0);
  await appendFile(file, 'g5\n');
  await h.waitLines(5);
  assert.deepEqual(reasons(), ['rename', 'recreate', 'delete', 'create', 'truncate']);
  assert.deepEqual(h.lines, ['g1', 'g2', 'g3', 'g4', 'g5']);
  assert.ok(h.rotations.every((r) => r.file === file && !r.whileStopped));
});
