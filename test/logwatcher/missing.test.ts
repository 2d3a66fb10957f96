import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { harness, tempDir } from './helpers.js';

test('a missing path and an empty glob are warnings at start, again while missing, stats and degraded health', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'auth.log');
  const glob = join(dir, 'app', '*.log');
  const h = harness(t, { files: [path, glob], missingWarningInterval: 60_000 });
  const health: string[] = [];
  h.watcher.on('health', (x) => health.push(x.state));
  await h.watcher.start();
  // At start, before any poll: both reported.
  assert.deepEqual(
    h.warnings
      .filter((w) => w.code === 'file-missing')
      .map((w) => w.path)
      .sort(),
    [glob, path].sort(),
  );
  assert.equal(h.watcher.stats.filesMissing, 2);
  const check = h.watcher.health().checks.find((c) => c.name === 'files');
  assert.equal(h.watcher.health().state, 'degraded');
  assert.equal(check?.ok, false);
  assert.match(check?.message ?? '', /auth\.log/);

  // Polls within the interval add nothing; after it, each is reported again.
  await h.settle();
  assert.equal(h.warnings.filter((w) => w.code === 'file-missing').length, 2, 'not every poll');
  h.advance(60_000);
  await h.settle();
  assert.equal(h.warnings.filter((w) => w.code === 'file-missing').length, 4, 'again after missingWarningInterval');

  // The file appears: it is followed, and the count and health follow.
  await writeFile(path, 'hello\n');
  await h.waitLines(0);
  await h.until(() => h.watcher.stats.filesMissing === 1, 'the file found');
  assert.equal(h.watcher.health().state, 'degraded', 'the glob still matches nothing');
  await writeFile(join(dir, 'x'), '');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'app'));
  await writeFile(join(dir, 'app', 'one.log'), '');
  await h.until(() => h.watcher.stats.filesMissing === 0, 'the glob matching');
  assert.equal(h.watcher.health().state, 'ok');
  assert.deepEqual(health.slice(-1), ['ok']);
});
