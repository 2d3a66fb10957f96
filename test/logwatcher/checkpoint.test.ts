import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, copyFile, readdir, readFile, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadCheckpoint } from '../../src/logwatcher/checkpoint.js';
import type { LogWatcherOptions } from '../../src/logwatcher/index.js';
import { findPeer, skipUnlessPeers } from '../helpers/peers.js';
import { harness, numbered, tempDir, text, type Harness } from './helpers.js';

/** Runs one watcher "process lifetime": start, wait for `expect` lines, stop. */
async function session(t: TestContext, options: LogWatcherOptions, expect: number, between?: (h: Harness) => Promise<void>): Promise<Harness> {
  const h = harness(t, options);
  await h.watcher.start();
  await between?.(h);
  await h.waitLines(expect);
  await h.settle();
  await h.watcher.stop();
  assert.deepEqual(h.errors, []);
  return h;
}

test('restart without rotation: lines written while stopped are read, none twice', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state', 'positions.json');
  await writeFile(file, text(numbered('before', 1, 3)));
  const first = await session(t, { files: [file], stateFile }, 2, async () => {
    await appendFile(file, text(numbered('run1', 1, 2)));
  });
  assert.deepEqual(first.lines, numbered('run1', 1, 2));

  await appendFile(file, text(numbered('stopped', 1, 3)));
  const second = await session(t, { files: [file], stateFile }, 5, async () => {
    await appendFile(file, text(numbered('run2', 1, 2)));
  });
  assert.deepEqual(second.lines, [...numbered('stopped', 1, 3), ...numbered('run2', 1, 2)]);
  assert.deepEqual(
    second.where.map((w) => w.lineNumber),
    [6, 7, 8, 9, 10],
  );

  // A third start with nothing new reads nothing.
  const third = harness(t, { files: [file], stateFile });
  await third.watcher.start();
  await third.settle();
  assert.deepEqual(third.lines, []);
  const entries = await readdir(join(dir, 'state'));
  assert.deepEqual(entries, ['positions.json'], 'no temporary files left behind');
});

test('restart after rename rotation while stopped: the old tail, then the new file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, '');
  await session(t, { files: [file], stateFile }, 2, async () => {
    await appendFile(file, text(numbered('gen1', 1, 2)));
  });
  await appendFile(file, text(numbered('gen1', 3, 4)));
  // logrotate while we are down: auth.log.1 is older, auth.log.2 older still.
  await writeFile(`${file}.2.gz`, 'compressed older generation');
  await writeFile(`${file}.2`, text(numbered('ancient', 1, 5)));
  await rename(file, `${file}.1`);
  await writeFile(file, text(numbered('gen2', 1, 2)));
  const h = await session(t, { files: [file], stateFile }, 4);
  assert.deepEqual(h.lines, [...numbered('gen1', 3, 4), ...numbered('gen2', 1, 2)]);
  const rotation = h.rotations.find((r) => r.whileStopped);
  assert.equal(rotation?.reason, 'rename');
  assert.equal(rotation?.previousPath, `${file}.1`);
  // gen1's line numbers continue; gen2 starts again at 1.
  assert.deepEqual(
    h.where.map((w) => w.lineNumber),
    [3, 4, 1, 2],
  );
});

test('restart after copytruncate while stopped: the copy gives the unread tail', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, '');
  await session(t, { files: [file], stateFile }, 2, async () => {
    await appendFile(file, text(numbered('gen1', 1, 2)));
  });
  await appendFile(file, text(numbered('gen1', 3, 3)));
  await copyFile(file, `${file}-20240301`);
  await truncate(file, 0);
  await appendFile(file, text(numbered('gen2', 1, 1)));
  const h = await session(t, { files: [file], stateFile }, 2);
  assert.deepEqual(h.lines, ['gen1 3', 'gen2 1']);
  assert.equal(h.rotations[0]?.reason, 'truncate');
  assert.equal(h.rotations[0]?.previousPath, `${file}-20240301`);
});

test('restart after delete+recreate while stopped, the new file reusing the inode', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, text(numbered('gen1', 1, 2)));
  await session(t, { files: [file], stateFile, startAt: 'beginning' }, 2);
  const before = await stat(file);
  // Rewritten in place: certainly the same inode, a different content, a larger size.
  await writeFile(file, text(numbered('generation two, longer lines', 1, 3)));
  assert.equal((await stat(file)).ino, before.ino);
  const h = await session(t, { files: [file], stateFile }, 3);
  assert.deepEqual(h.lines, numbered('generation two, longer lines', 1, 3));
  assert.ok(
    h.warnings.some((w) => w.code === 'rotated-lost'),
    'the lost generation is reported',
  );

  await unlink(file);
  await writeFile(file, text(numbered('gen3', 1, 2)));
  const again = await session(t, { files: [file], stateFile }, 2);
  assert.deepEqual(again.lines, numbered('gen3', 1, 2));
});

test('restart while a renamed file was still draining resumes both', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, '');
  // A long grace period: the renamed file is still open when the watcher stops.
  await session(t, { files: [file], stateFile, rotateGrace: 60_000 }, 3, async (h) => {
    await appendFile(file, 'a1\n');
    await h.waitLines(1);
    await rename(file, `${file}.1`);
    await writeFile(file, 'b1\n');
    await appendFile(`${file}.1`, 'a2\n');
  });
  const saved = await loadCheckpoint(stateFile);
  assert.equal(saved.files[file]?.draining.length, 1);
  await appendFile(`${file}.1`, 'a3\n');
  await appendFile(file, 'b2\n');
  const h = await session(t, { files: [file], stateFile }, 2);
  assert.deepEqual([...h.lines].sort(), ['a3', 'b2']);
});

test('a partial last line is not checkpointed: it is read whole after a restart', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, '');
  await session(t, { files: [file], stateFile }, 1, async () => {
    await appendFile(file, 'whole\nhalf a');
  });
  await appendFile(file, ' line\n');
  const h = await session(t, { files: [file], stateFile }, 1);
  assert.deepEqual(h.lines, ['half a line']);
});

test('a corrupt state file is reported, kept aside, and reading falls back to startAt', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, text(numbered('x', 1, 2)));
  for (const garbage of ['{"version":1,"files":{"a":{"current":{"offset":-1}}}}', '\u0000\u0001 not json', '{"version":99}']) {
    await writeFile(stateFile, garbage);
    const h = harness(t, { files: [file], stateFile, startAt: 'beginning' });
    await h.watcher.start();
    await h.waitLines(2);
    await h.watcher.stop();
    assert.deepEqual(h.lines, numbered('x', 1, 2));
    assert.equal(h.warnings[0]?.code, 'state-discarded');
    assert.deepEqual(h.errors, []);
    assert.equal(await readFile(`${stateFile}.corrupt`, 'utf8'), garbage);
    // The state written afterwards is sound again.
    assert.equal((await loadCheckpoint(stateFile)).files[file]?.current?.lineNumber, 2);
  }
});

test('the position saved never covers a line whose listeners have not run yet', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  await writeFile(file, '');
  const h = harness(t, { files: [file], stateFile, checkpointInterval: 0 });
  const violations: string[] = [];
  h.watcher.on('match', (m) => {
    let saved: number | undefined;
    try {
      saved = (JSON.parse(readFileSync(stateFile, 'utf8')) as { files: Record<string, { current?: { lineNumber: number } }> }).files[file]?.current?.lineNumber;
    } catch {
      return; // not written yet
    }
    if (saved !== undefined && saved >= m.lineNumber) violations.push(`line ${m.lineNumber} was saved as handled (${saved}) before its listener ran`);
  });
  await h.watcher.start();
  for (let i = 1; i <= 10; i++) {
    await appendFile(file, `line ${i}\n`);
    await h.waitLines(i);
  }
  await h.watcher.stop();
  assert.deepEqual(violations, []);
  assert.equal((await loadCheckpoint(stateFile)).files[file]?.current?.lineNumber, 10);
});

test('a state file that cannot be written is reported once as an error; following goes on', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  await writeFile(join(dir, 'not-a-dir'), '');
  const h = harness(t, { files: [file], stateFile: join(dir, 'not-a-dir', 'state.json') });
  await h.watcher.start();
  await appendFile(file, 'one\n');
  await h.waitLines(1);
  await h.until(() => h.errors.length > 0, 'the save error');
  await appendFile(file, 'two\n');
  await h.waitLines(2);
  await h.settle();
  assert.equal(h.errors.length, 1);
  assert.equal((h.errors[0] as { code?: string }).code, 'ERR_IO');
  assert.deepEqual(h.lines, ['one', 'two']);
});

test('stop() in the middle of a backlog, then restart: every line exactly once', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  const stateFile = join(dir, 'state.json');
  const total = 100_000;
  await writeFile(file, text(numbered('line', 1, total)));
  const first = harness(t, { files: [file], stateFile, startAt: 'beginning' });
  // Stop from inside a listener, while the watcher is mid-read.
  let stopping: Promise<void> | undefined;
  first.watcher.on('match', () => {
    if (first.lines.length === 12_345) stopping = first.watcher.stop();
  });
  await first.watcher.start();
  await first.until(() => stopping !== undefined, 'the stop');
  await stopping;
  assert.ok(first.lines.length >= 12_345 && first.lines.length < total, `read ${first.lines.length} before stopping`);
  const second = harness(t, { files: [file], stateFile });
  await second.watcher.start();
  await second.waitLines(total - first.lines.length);
  await second.settle();
  const all = [...first.lines, ...second.lines];
  assert.equal(all.length, total);
  assert.deepEqual(all, numbered('line', 1, total));
  assert.equal(second.where[0]?.lineNumber, first.lines.length + 1);
});

test('a journal cursor the journal does not know is dropped; reading falls back to startAt', { skip: skipUnlessPeers(['systemd-journal-remote', 'journalctl']) }, async (t) => {
  const dir = await tempDir(t);
  const journalRemote = findPeer('systemd-journal-remote') as string;
  const journalFile = join(dir, 'j.journal');
  const made = spawnSync(journalRemote, [`--output=${journalFile}`, '-'], {
    input:
      '__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=0123456789abcdef0123456789abcdef\nSYSLOG_IDENTIFIER=sshd\n_COMM=sshd\n_PID=7\nMESSAGE=hello from the journal\nSYSLOG_FACILITY=4\n\n',
  });
  assert.equal(made.status, 0, String(made.stderr));
  const stateFile = join(dir, 'state.json');
  await writeFile(stateFile, JSON.stringify({ version: 1, files: {}, journalCursor: 'not-a-cursor' }));
  const h = harness(t, { files: [], journal: { files: [journalFile], restartDelay: 20 }, stateFile, startAt: 'beginning' });
  await h.watcher.start();
  await h.waitLines(1);
  assert.match(h.lines[0] ?? '', /sshd\[7\]: hello from the journal$/);
  assert.equal(h.errors.length, 1, 'the failed seek is reported once');
  assert.match(h.errors[0]?.message ?? '', /cursor/);
  await h.watcher.stop();
  assert.match((await loadCheckpoint(stateFile)).journalCursor ?? '', /^s=/);
});

test('glob matches resume from the state file too', async (t) => {
  const dir = await tempDir(t);
  const stateFile = join(dir, 'state.json');
  const a = join(dir, 'a.log');
  const b = join(dir, 'b.log');
  await writeFile(a, 'a1\n');
  await writeFile(b, 'b1\n');
  const files = [join(dir, '*.log')];
  const first = await session(t, { files, stateFile, startAt: 'beginning' }, 2);
  assert.deepEqual([...first.lines].sort(), ['a1', 'b1']);
  await appendFile(a, 'a2\n');
  await appendFile(b, 'b2\n');
  await writeFile(join(dir, 'c.log'), 'c1\n'); // new while stopped: read from its start
  const second = await session(t, { files, stateFile }, 3);
  assert.deepEqual([...second.lines].sort(), ['a2', 'b2', 'c1']);
});
