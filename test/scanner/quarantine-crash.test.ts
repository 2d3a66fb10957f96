// SIGKILL at random points of isolate(): afterwards every original is either untouched
// (same content, same mode) or a complete entry that restores exactly — on one file
// system (rename) and across two (copy), with the journal replayed by a new Quarantine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Quarantine } from '../../src/index.js';
import { mulberry32 } from '../helpers/prng.js';

const FILES_PER_ROUND = 20;
const ROUNDS = 12;
const MODE = 0o751;
const QUARANTINE_MODULE = new URL('../../src/index.ts', import.meta.url).href;

const content = (round: number, i: number): Buffer => Buffer.concat([Buffer.from(`payload ${round} ${i}\n`), Buffer.alloc(256 * 1024 + i, 0x41 + (i % 26))]);
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

async function killDuringIsolation(qdir: string, paths: string[], delayMs: number): Promise<void> {
  const script = `
    import { Quarantine } from ${JSON.stringify(QUARANTINE_MODULE)};
    const q = new Quarantine({ directory: ${JSON.stringify(qdir)} });
    await q.recover();
    process.stdout.write('ready\\n');
    for (const path of ${JSON.stringify(paths)}) await q.isolate(path, { reason: 'crash test' }).catch(() => {});
    process.stdout.write('done\\n');`;
  const child = spawn(process.execPath, ['--import=tsx/esm', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)));
  });
  // The delay is what is tested: a SIGKILL at a random point of the isolations, not a wait for something.
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function crashRounds(tree: string, qdir: string, seed: number): Promise<{ completed: number; undone: number; isolated: number; untouched: number }> {
  const random = mulberry32(seed);
  const totals = { completed: 0, undone: 0, isolated: 0, untouched: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const paths: string[] = [];
    for (let i = 0; i < FILES_PER_ROUND; i++) {
      const path = join(tree, `f-${round}-${i}.exe`);
      await writeFile(path, content(round, i));
      await chmod(path, MODE);
      paths.push(path);
    }
    await killDuringIsolation(qdir, paths, Math.floor(random() * 60));

    const quarantine = new Quarantine({ directory: qdir });
    const report = await quarantine.recover();
    totals.completed += report.completed.length;
    totals.undone += report.undone.length;
    assert.deepEqual(report.unresolved, []);
    const leftovers = (await readdir(qdir)).filter((name) => !/^q-[0-9a-z]+-[0-9a-f]{12}\.(json|data)$/.test(name));
    assert.deepEqual(leftovers, [], 'no journal or temp file survives recovery');
    const records = await quarantine.list();
    for (let i = 0; i < FILES_PER_ROUND; i++) {
      const path = paths[i] as string;
      const entries = records.filter((r) => r.originalPath === path);
      const original = await lstat(path).catch(() => undefined);
      if (original) {
        assert.equal(entries.length, 0, `${path} is both in place and quarantined`);
        assert.equal(original.mode & 0o7777, MODE, `${path} kept its mode`);
        assert.deepEqual(await readFile(path), content(round, i));
        totals.untouched++;
      } else {
        assert.equal(entries.length, 1, `${path} is neither in place nor quarantined`);
        const record = entries[0]!;
        assert.equal(record.sha256, sha256(content(round, i)));
        await quarantine.restore(record.id);
        assert.deepEqual(await readFile(path), content(round, i));
        assert.equal((await stat(path)).mode & 0o7777, MODE);
        totals.isolated++;
      }
    }
    assert.deepEqual(await quarantine.list(), []);
  }
  return totals;
}

describe('Quarantine under SIGKILL', () => {
  const cleanups: string[] = [];
  after(async () => {
    for (const dir of cleanups) await rm(dir, { recursive: true, force: true });
  });

  it('on one file system: every original untouched or a complete, restorable entry', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwarden-crash-'));
    cleanups.push(dir);
    await mkdir(join(dir, 'tree'));
    const totals = await crashRounds(join(dir, 'tree'), join(dir, 'q'), 1);
    t.diagnostic(`same file system: ${JSON.stringify(totals)}`);
    assert.ok(totals.completed + totals.undone > 0, 'some kill landed inside an isolation');
  });

  it('across file systems (tmpfs tree, disk quarantine): the same', async (t) => {
    const shm = await mkdtemp('/dev/shm/hostwarden-crash-');
    const dir = await mkdtemp(join(tmpdir(), 'hostwarden-crash-q-'));
    cleanups.push(shm, dir);
    assert.notEqual((await stat(shm)).dev, (await stat(dir)).dev, '/dev/shm and the temp directory must be different file systems');
    const totals = await crashRounds(shm, join(dir, 'q'), 2);
    t.diagnostic(`across file systems: ${JSON.stringify(totals)}`);
    assert.ok(totals.completed + totals.undone > 0, 'some kill landed inside an isolation');
  });
});
