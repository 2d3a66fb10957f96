import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmod, chown, lchown, lstat, mkdir, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InvalidOptionError, ParseError, Quarantine, QuarantineError } from '../../src/index.js';
import { peImage, tempDir } from './samples.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

async function quarantineFiles(directory: string): Promise<string[]> {
  return (await readdir(directory)).sort();
}

describe('Quarantine', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let quarantine: Quarantine;
  let qdir: string;
  const content = peImage({ size: 3000 });

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    qdir = join(dir, 'quarantine');
    quarantine = new Quarantine({ directory: qdir });
  });
  after(() => cleanup());

  it('isolates a regular file: moved, mode 0000, manifest, directory 0700', async () => {
    const path = join(dir, 'dropper.exe');
    await writeFile(path, content, { mode: 0o4755 });
    await chmod(path, 0o4755);
    const mtime = new Date('2024-01-02T03:04:05.678Z');
    await utimes(path, mtime, mtime);
    const record = await quarantine.isolate(path, { reason: 'PE executable named .exe' });

    assert.equal(await exists(path), false);
    assert.equal(record.originalPath, path);
    assert.equal(record.sha256, sha256(content));
    assert.equal(record.size, content.length);
    assert.equal(record.mode, 0o4755);
    assert.equal(record.uid, process.getuid?.());
    assert.equal(record.mtime.getTime(), mtime.getTime());
    assert.equal(record.reason, 'PE executable named .exe');
    assert.equal((await stat(qdir)).mode & 0o777, 0o700);
    const data = await stat(join(qdir, `${record.id}.data`));
    assert.equal(data.mode & 0o7777, 0);
    const manifest = JSON.parse(await readFile(join(qdir, `${record.id}.json`), 'utf8')) as Record<string, unknown>;
    assert.equal(manifest['originalPath'], path);
    assert.equal(manifest['sha256'], sha256(content));
    assert.equal((await stat(join(qdir, `${record.id}.json`))).mode & 0o777, 0o600);
    assert.deepEqual(
      (await quarantine.list()).map((r) => r.id),
      [record.id],
    );
    assert.deepEqual(await quarantine.get(record.id), record);
  });

  it('restores content, mode, owner and times, and never overwrites', async () => {
    const path = join(dir, 'restore-me.bin');
    await writeFile(path, content);
    await chmod(path, 0o640);
    const uid = process.getuid?.() === 0 ? 1234 : (process.getuid?.() ?? 0);
    const gid = process.getuid?.() === 0 ? 4321 : (process.getgid?.() ?? 0);
    await chown(path, uid, gid);
    const mtime = new Date('2023-05-06T07:08:09.000Z');
    await utimes(path, mtime, mtime);
    const record = await quarantine.isolate(path, { reason: 'test' });

    // Something took the name meanwhile: restore refuses and the entry stays.
    await writeFile(path, 'new owner of the name');
    await assert.rejects(quarantine.restore(record.id), (e: unknown) => e instanceof QuarantineError && /already exists/.test(e.message));
    assert.equal(await readFile(path, 'utf8'), 'new owner of the name');
    assert.equal((await stat(join(qdir, `${record.id}.data`))).mode & 0o7777, 0, 'still unreadable after the refusal');
    // Even a dangling symlink counts as existing.
    await rm(path);
    await symlink(join(dir, 'nowhere'), path);
    await assert.rejects(quarantine.restore(record.id), QuarantineError);
    assert.equal(await exists(join(dir, 'nowhere')), false);
    await rm(path);

    await quarantine.restore(record.id);
    assert.deepEqual(await readFile(path), content);
    const st = await stat(path);
    assert.equal(st.mode & 0o7777, 0o640);
    assert.equal(st.uid, uid);
    assert.equal(st.gid, gid);
    assert.equal(st.mtime.getTime(), mtime.getTime());
    assert.equal(
      (await quarantine.list()).some((r) => r.id === record.id),
      false,
    );
  });

  it('refuses symlinks, directories, FIFOs and missing paths, and leaves them alone', async () => {
    const target = join(dir, 'link-target.exe');
    await writeFile(target, content);
    const link = join(dir, 'link.exe');
    await symlink(target, link);
    const before = await quarantineFiles(qdir);
    await assert.rejects(quarantine.isolate(link, { reason: 'x' }), /symbolic link/);
    await assert.rejects(quarantine.isolate(dir, { reason: 'x' }), /not a regular file/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(quarantine.isolate(fifo, { reason: 'x' }), /not a regular file/);
    await assert.rejects(quarantine.isolate(join(dir, 'missing'), { reason: 'x' }), QuarantineError);
    assert.ok(await exists(link));
    assert.deepEqual(await readFile(target), content);
    assert.deepEqual(await quarantineFiles(qdir), before, 'a failed check leaves nothing behind');
  });

  it('refuses when the path was swapped for a symlink (or another file) after the scan checked it', async () => {
    const path = join(dir, 'scanned.exe');
    await writeFile(path, content);
    const checked = await lstat(path);
    // Attacker: replace the scanned file by a link to something precious.
    const precious = join(dir, 'precious.conf');
    await writeFile(precious, 'do not move me');
    await rm(path);
    await symlink(precious, path);
    await assert.rejects(quarantine.isolate(path, { reason: 'x', expect: { dev: checked.dev, ino: checked.ino } }), QuarantineError);
    assert.equal(await readFile(precious, 'utf8'), 'do not move me');
    // Or by a different regular file (made first, so it has its own inode).
    await writeFile(`${path}.new`, 'another file');
    await rm(path);
    await rename(`${path}.new`, path);
    await assert.rejects(quarantine.isolate(path, { reason: 'x', expect: { dev: checked.dev, ino: checked.ino } }), /different file than the one that was checked/);
    assert.equal(await readFile(path, 'utf8'), 'another file');
    // Or the inode number was recycled for a new file (ctime and size tell them apart).
    const recycled = await lstat(path);
    await assert.rejects(quarantine.isolate(path, { reason: 'x', expect: { dev: recycled.dev, ino: recycled.ino, ctimeMs: recycled.ctimeMs - 1000, size: 1 } }), /different file/);
    // Or the content changed since it was hashed.
    const fresh = await lstat(path);
    await assert.rejects(quarantine.isolate(path, { reason: 'x', expect: { dev: fresh.dev, ino: fresh.ino, sha256: sha256('old') } }), /content changed/);
    assert.ok(await exists(path));
  });

  it('refuses to restore through a parent directory that became a symlink', async () => {
    const home = join(dir, 'home');
    await mkdir(join(home, 'bob'), { recursive: true });
    const path = join(home, 'bob', 'tool.exe');
    await writeFile(path, content);
    const record = await quarantine.isolate(path, { reason: 'x' });
    // Attacker: bob/ becomes a link to a directory the restore must not write into.
    const elsewhere = join(dir, 'etc-like');
    await mkdir(elsewhere);
    await rename(join(home, 'bob'), join(home, 'bob-old'));
    await symlink(elsewhere, join(home, 'bob'));
    // The attacker's link (root's own links in root's directories are trusted, as the kernel's are).
    await lchown(join(home, 'bob'), 65534, 65534);
    await assert.rejects(quarantine.restore(record.id), (e: unknown) => e instanceof QuarantineError && /symbolic link/.test(e.message));
    assert.deepEqual(await readdir(elsewhere), []);
    // A missing parent is refused as well (never created).
    await rm(join(home, 'bob'));
    await assert.rejects(quarantine.restore(record.id), /is missing/);
    await rename(join(home, 'bob-old'), join(home, 'bob'));
    await quarantine.restore(record.id);
    assert.deepEqual(await readFile(path), content);
  });

  it('refuses relative and dotted restore targets and bad ids', async () => {
    const path = join(dir, 'dots.exe');
    await writeFile(path, content);
    const record = await quarantine.isolate(path, { reason: 'x' });
    await assert.rejects(quarantine.restore(record.id, { to: 'relative/path' }), /relative/);
    await assert.rejects(quarantine.restore(record.id, { to: `${dir}/a/../dots.exe` }), /'\.\.'/);
    await assert.rejects(quarantine.restore(record.id, { to: `${dir}/./dots.exe` }), /'\.\.'|'\.'/);
    await assert.rejects(quarantine.restore('../../etc/passwd'), /Not a quarantine id/);
    await assert.rejects(quarantine.remove('q-nonexistent-000000000000'), QuarantineError);
    // restore to another, safe path
    const other = join(dir, 'restored-elsewhere.exe');
    await quarantine.restore(record.id, { to: other });
    assert.deepEqual(await readFile(other), content);
  });

  it('refuses to restore content that was tampered with in the quarantine', async () => {
    const path = join(dir, 'tamper.exe');
    await writeFile(path, content);
    const record = await quarantine.isolate(path, { reason: 'x' });
    const data = join(qdir, `${record.id}.data`);
    await chmod(data, 0o600);
    await writeFile(data, 'swapped content');
    await chmod(data, 0);
    await assert.rejects(quarantine.restore(record.id), /does not match/);
    assert.equal(await exists(path), false);
    await quarantine.remove(record.id);
  });

  it('removes an entry for good', async () => {
    const path = join(dir, 'remove.exe');
    await writeFile(path, content);
    const record = await quarantine.isolate(path, { reason: 'x' });
    await quarantine.remove(record.id);
    assert.equal(await exists(join(qdir, `${record.id}.data`)), false);
    assert.equal(await exists(join(qdir, `${record.id}.json`)), false);
    await assert.rejects(quarantine.get(record.id), QuarantineError);
  });

  it('skips a damaged manifest in list() and reports it from get()', async () => {
    const id = 'q-00000000-0123456789ab';
    await writeFile(join(qdir, `${id}.json`), '{ not json');
    try {
      assert.equal(
        (await quarantine.list()).some((r) => r.id === id),
        false,
      );
      await assert.rejects(quarantine.get(id), ParseError);
    } finally {
      await rm(join(qdir, `${id}.json`));
    }
  });

  it('refuses a quarantine directory that is a symlink', async () => {
    const real = join(dir, 'real-q');
    await mkdir(real);
    await symlink(real, join(dir, 'link-q'));
    await lchown(join(dir, 'link-q'), 65534, 65534);
    const q = new Quarantine({ directory: join(dir, 'link-q') });
    const path = join(dir, 'x.exe');
    await writeFile(path, content);
    await assert.rejects(q.isolate(path, { reason: 'x' }), /not a real directory/);
    assert.ok(await exists(path));
  });

  it('leaves other hard links to the isolated file unreadable', async () => {
    const path = join(dir, 'linked.exe');
    await writeFile(path, content);
    await chmod(path, 0o755);
    const other = join(dir, 'other-name.bin');
    const { link } = await import('node:fs/promises');
    await link(path, other);
    await quarantine.isolate(path, { reason: 'hard link' });
    assert.equal((await stat(other)).mode & 0o7777, 0);
  });

  it('uses the injected clock for quarantinedAt (even the epoch)', async () => {
    const q = new Quarantine({ directory: join(dir, 'clock-q'), clock: () => 0 });
    const path = join(dir, 'clock.exe');
    await writeFile(path, content);
    const record = await q.isolate(path, { reason: 'clock' });
    assert.equal(record.quarantinedAt.getTime(), 0);
    assert.deepEqual(
      (await q.list()).map((r) => r.id),
      [record.id],
    );
    await q.restore(record.id);
    assert.deepEqual(await readFile(path), content);
  });

  it('validates its options', () => {
    assert.throws(() => new Quarantine({ directory: '' }), InvalidOptionError);
    assert.throws(() => new Quarantine({ directory: 'x', logger: {} as never }), /logger/);
  });
});

describe('Quarantine across file systems', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let shm: { dir: string; cleanup: () => Promise<void> } | undefined;
  const content = Buffer.concat([peImage(), Buffer.alloc(3 * 1024 * 1024 + 17, 0x61)]);

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    const [a, b] = await Promise.all([stat(dir), stat('/dev/shm').catch(() => undefined)]);
    if (b && b.dev !== a.dev) shm = await tempDir('hostwarden-q-', '/dev/shm');
  });
  after(async () => {
    await cleanup();
    await shm?.cleanup();
  });

  it('copies exclusively, verifies the hash, unlinks the original, and restores back', async (t) => {
    if (!shm) {
      t.skip('/dev/shm is on the same file system as the temp dir here');
      return;
    }
    const quarantine = new Quarantine({ directory: join(shm.dir, 'q') });
    const path = join(dir, 'cross.exe');
    await writeFile(path, content);
    await chmod(path, 0o751);
    const { link } = await import('node:fs/promises');
    await link(path, join(dir, 'cross-hardlink'));
    const mtime = new Date('2022-02-02T02:02:02.000Z');
    await utimes(path, mtime, mtime);
    const record = await quarantine.isolate(path, { reason: 'cross-fs' });
    assert.equal(await exists(path), false);
    const data = join(shm.dir, 'q', `${record.id}.data`);
    const st = await stat(data);
    assert.equal(st.mode & 0o7777, 0);
    assert.equal(st.size, content.length);
    assert.equal(record.sha256, sha256(content));
    assert.equal((await stat(join(dir, 'cross-hardlink'))).mode & 0o7777, 0, 'a second name of the inode is neutered too');

    await quarantine.restore(record.id);
    assert.deepEqual(await readFile(path), content);
    const back = await stat(path);
    assert.equal(back.mode & 0o7777, 0o751);
    assert.equal(back.mtime.getTime(), mtime.getTime());
    assert.deepEqual(await quarantine.list(), []);
  });

  it('never overwrites on a cross-file-system restore either', async (t) => {
    if (!shm) {
      t.skip('/dev/shm is on the same file system as the temp dir here');
      return;
    }
    const quarantine = new Quarantine({ directory: join(shm.dir, 'q2') });
    const path = join(dir, 'cross2.exe');
    await writeFile(path, content);
    const record = await quarantine.isolate(path, { reason: 'x' });
    await writeFile(path, 'occupied');
    await assert.rejects(quarantine.restore(record.id), /already exists/);
    assert.equal(await readFile(path, 'utf8'), 'occupied');
    assert.equal((await quarantine.list()).length, 1);
  });
});
