import assert from 'node:assert/strict';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { InvalidOptionError } from '../../src/core/errors.js';
import { LogWatcher } from '../../src/logwatcher/index.js';
import { optionalPeer, requirePeer } from '../helpers/peers.js';
import { runScript } from '../helpers/run-script.js';
import { everyLine, harness, openDescriptors, tempDir } from './helpers.js';

test('invalid options throw InvalidOptionError naming the option', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{}, 'files'],
    [{ files: [''] }, 'files[0]'],
    [{ files: 'x', startAt: 'middle' }, 'startAt'],
    [{ files: 'x', pollInterval: 0 }, 'pollInterval'],
    [{ files: 'x', maxLineLength: 10 }, 'maxLineLength'],
    [{ files: 'x', rotateGrace: -1 }, 'rotateGrace'],
    [{ files: 'x', stateFile: 42 }, 'stateFile'],
    [{ files: 'x', rules: [{ id: 'r' }] }, 'rules[0].description'],
    [{ files: [], journal: { matches: ['--output=cat'] } }, 'journal.matches[0]'],
    [{ files: [], journal: 'yes' }, 'journal'],
  ];
  for (const [options, option] of cases) {
    assert.throws(
      () => new LogWatcher(options),
      (error: unknown) => error instanceof InvalidOptionError && error.option === option,
      `expected ${option} to be rejected in ${JSON.stringify(options)}`,
    );
  }
});

test('stop() closes every file and watch; the process exits by itself', async (t) => {
  const dir = await tempDir(t);
  const journalRemote = optionalPeer(t, 'systemd-journal-remote');
  const args = [dir];
  if (journalRemote) {
    // Include the journald source, so the journalctl child is part of what must be released.
    const { spawnSync } = await import('node:child_process');
    const made = spawnSync(journalRemote, [`--output=${join(dir, 'j.journal')}`, '-'], {
      input: '__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=x\nSYSLOG_FACILITY=4\n\n',
    });
    assert.equal(made.status, 0, String(made.stderr));
    args.push(join(dir, 'j.journal'));
  }
  const result = await runScript(new URL('./fixtures/stop-exits.ts', import.meta.url), args, 60_000);
  assert.equal(result.timedOut, false, `the process did not exit after stop(): ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /stopped/);
});

test('without persistent, a running watcher (journalctl included) does not keep the process alive', async (t) => {
  const dir = await tempDir(t);
  const journalRemote = requirePeer(t, 'systemd-journal-remote');
  if (journalRemote === undefined) return;
  const { spawnSync } = await import('node:child_process');
  const made = spawnSync(journalRemote, [`--output=${join(dir, 'j.journal')}`, '-'], {
    input: '__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1\n_BOOT_ID=0123456789abcdef0123456789abcdef\nMESSAGE=x\nSYSLOG_FACILITY=4\n\n',
  });
  assert.equal(made.status, 0, String(made.stderr));
  const result = await runScript(new URL('./fixtures/no-stop-exits.ts', import.meta.url), [dir, join(dir, 'j.journal')], 60_000);
  assert.equal(result.timedOut, false, `the process was kept alive: ${result.stderr}`);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /started/);
});

test('stop() releases file descriptors in this process too, and a stopped watcher cannot restart', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const h = harness(t, { files: [file] });
  await h.watcher.start();
  assert.equal(await openDescriptors(file), 1);
  await h.watcher.stop();
  assert.equal(await openDescriptors(file), 0);
  await assert.rejects(h.watcher.start(), { code: 'ERR_STATE' });
  await h.watcher.stop(); // idempotent
});

test('an AbortSignal stops the watcher', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const controller = new AbortController();
  const h = harness(t, { files: [file], signal: controller.signal });
  await h.watcher.start();
  await appendFile(file, 'one\n');
  await h.waitLines(1);
  controller.abort();
  await h.until(() => h.watcher.state === 'stopped', 'the stop');
  assert.equal(await openDescriptors(file), 0);
});

test('stats are cumulative and matches are emitted before alerts of the same line', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'auth.log');
  await writeFile(file, '');
  const order: string[] = [];
  const h = harness(t, {
    files: [file],
    rules: [{ id: 'every', description: 'every', severity: 'warning', tags: [], pattern: /alert me/, alert: 'every' }],
  });
  h.watcher.on('match', () => order.push('match'));
  h.watcher.on('alert', () => order.push('alert'));
  await h.watcher.start();
  await appendFile(file, 'nothing\nalert me\n');
  await h.until(() => order.length >= 2, 'match and alert');
  assert.deepEqual(order, ['match', 'alert']);
  assert.deepEqual(h.watcher.stats, { linesRead: 2, bytesRead: 17, matches: 1, filesFollowed: 1, filesMissing: 0 });
});

test('lines without a timestamp get the time of the read that brought them, by the injected clock', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'app.log');
  await writeFile(file, 'first line without a time\nsecond line without a time\n');
  let now = Date.parse('2024-06-01T10:00:00Z');
  const watcher = new LogWatcher({ files: [file], startAt: 'beginning', rules: [everyLine], watch: false, clock: () => now });
  const times: [string, number][] = [];
  watcher.on('match', (m) => times.push([m.line, m.time.getTime()]));
  t.after(() => watcher.stop());
  await watcher.start();
  await watcher.poll();
  now += 60_000;
  await appendFile(file, 'third line, read a minute later\n');
  await watcher.poll();
  assert.deepEqual(times, [
    ['first line without a time', Date.parse('2024-06-01T10:00:00Z')],
    ['second line without a time', Date.parse('2024-06-01T10:00:00Z')],
    ['third line, read a minute later', Date.parse('2024-06-01T10:01:00Z')],
  ]);
});
