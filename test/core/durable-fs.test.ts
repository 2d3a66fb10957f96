import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IoError } from '../../src/core/errors.js';
import { openNoFollow, PinnedDirectory, splitParent, syncDirectory, writeFileAtomic } from '../../src/core/durable-fs.js';
import { mulberry32 } from '../helpers/prng.js';

const exists = (path: string | Buffer) =>
  lstat(path).then(
    () => true,
    () => false,
  );

describe('durable-fs', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostwarden-durable-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writeFileAtomic writes the content with exactly the mode asked, leaving no temp file', async () => {
    const path = join(dir, 'state.json');
    const oldUmask = process.umask(0o077);
    try {
      await writeFileAtomic(path, '{"a":1}\n', { mode: 0o640 });
    } finally {
      process.umask(oldUmask);
    }
    assert.equal(await readFile(path, 'utf8'), '{"a":1}\n');
    assert.equal((await stat(path)).mode & 0o777, 0o640);
    await writeFileAtomic(path, 'second');
    assert.equal(await readFile(path, 'utf8'), 'second');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.includes('state')),
      ['state.json'],
    );
  });

  it('writeFileAtomic replaces a symlink planted at the target instead of writing through it', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched');
    const path = join(dir, 'cache');
    await symlink(victim, path);
    await writeFileAtomic(path, 'mine');
    assert.equal(await readFile(victim, 'utf8'), 'untouched');
    assert.equal((await lstat(path)).isSymbolicLink(), false);
    assert.equal(await readFile(path, 'utf8'), 'mine');
  });

  it('refuses a path with a symlink in any directory component', async () => {
    const real = join(dir, 'real');
    await mkdir(real);
    const sneaky = join(dir, 'sneaky');
    await symlink(real, sneaky);
    // Someone else's link (root's own links in root's directories are followed; see below).
    await lchown(sneaky, 65534, 65534);
    await assert.rejects(writeFileAtomic(join(sneaky, 'x'), 'data'), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'ELOOP');
    assert.deepEqual(await readdir(real), []);
    await assert.rejects(PinnedDirectory.open(sneaky), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'ELOOP');
    await assert.rejects(syncDirectory(sneaky), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'ELOOP');
    await writeFile(join(real, 'f'), 'x');
    await assert.rejects(openNoFollow(join(sneaky, 'f'), constants.O_RDONLY), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'ELOOP');
    const handle = await openNoFollow(join(real, 'f'), constants.O_RDONLY);
    assert.equal((await handle.readFile()).toString(), 'x');
    await handle.close();
  });

  it("follows only links root made in root's own directories (/var/run, /lib), never a user's", async () => {
    // Debian's own: /var/run -> /run, /lib -> usr/lib (root's links in root's 0755 directories).
    const viaLink = await PinnedDirectory.open('/var/run');
    const real = await stat('/run');
    assert.equal(viaLink.stats.ino, real.ino);
    await viaLink.close();
    const lib = await PinnedDirectory.open('/lib');
    assert.equal(lib.stats.ino, (await stat('/usr/lib')).ino);
    await lib.close();
    // A link owned by someone else, or in a directory others may write, is refused.
    const userDir = join(dir, 'user-links');
    await mkdir(userDir);
    await symlink('/run', join(userDir, 'mine'));
    await lchown(join(userDir, 'mine'), 65534, 65534);
    await assert.rejects(PinnedDirectory.open(join(userDir, 'mine')), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'ELOOP');
    const open = join(dir, 'open-dir');
    await mkdir(open);
    await chmod(open, 0o777);
    await symlink('/run', join(open, 'roots'));
    await assert.rejects(PinnedDirectory.open(join(open, 'roots')), (error: NodeJS.ErrnoException) => error.code === 'ENOTDIR' || error.code === 'ELOOP');
  });

  it('keeps operating on the pinned directory after its path is swapped for a symlink', async () => {
    const home = join(dir, 'home');
    const system = join(dir, 'system');
    await mkdir(home);
    await mkdir(system);
    await writeFile(join(home, 'evil'), 'evil');
    await writeFile(join(system, 'evil'), 'precious');
    const pinned = await PinnedDirectory.open(home);
    try {
      // The attacker's move: the directory goes away and a symlink to the "system" one takes its place.
      await rename(home, join(dir, 'home-moved'));
      await symlink(system, home);
      await pinned.unlink('evil');
      await pinned.writeFileAtomic('planted', 'x');
    } finally {
      await pinned.close();
    }
    assert.equal(await readFile(join(system, 'evil'), 'utf8'), 'precious');
    assert.deepEqual(await readdir(system), ['evil']);
    assert.deepEqual(await readdir(join(dir, 'home-moved')), ['planted']);
  });

  it('verifies dev, inode and owner on the handle', async () => {
    const path = join(dir, 'verified');
    await mkdir(path);
    const st = await stat(path);
    const ok = await PinnedDirectory.open(path, { expect: { dev: st.dev, ino: st.ino, uid: st.uid } });
    assert.equal(ok.stats.ino, st.ino);
    await ok.close();
    await ok.close(); // idempotent
    await assert.rejects(PinnedDirectory.open(path, { expect: { ino: st.ino + 1 } }), IoError);
    await assert.rejects(PinnedDirectory.open(path, { expect: { uid: st.uid + 1 } }), /belongs to uid/);
    const parent = await PinnedDirectory.open(dir);
    await assert.rejects(parent.openDirectory('verified', { expect: { ino: st.ino + 1 } }), IoError);
    const child = await parent.openDirectory('verified', { expect: { ino: st.ino } });
    await child.close();
    await parent.close();
  });

  it('refuses entry names that could leave the directory', async () => {
    const pinned = await PinnedDirectory.open(dir);
    try {
      for (const name of ['..', '.', '', 'a/b', 'a\0b']) {
        assert.throws(() => pinned.entry(name), IoError, JSON.stringify(name));
      }
      await assert.rejects(PinnedDirectory.open(`${dir}/../x`), /'\.\.'/);
    } finally {
      await pinned.close();
    }
  });

  it('creates missing components with the mode asked, and handles names that are not UTF-8', async () => {
    const raw = Buffer.concat([Buffer.from(`${dir}/caf`), Buffer.from([0xe9]), Buffer.from('/deeper')]);
    const pinned = await PinnedDirectory.open(raw, { createMode: 0o700 });
    try {
      assert.equal(pinned.stats.mode & 0o777, 0o700);
      await pinned.writeFileAtomic(Buffer.from([0x66, 0xff]), 'bytes');
      const names = await pinned.readdir();
      assert.deepEqual(names, [Buffer.from([0x66, 0xff])]);
    } finally {
      await pinned.close();
    }
    const file = Buffer.concat([raw, Buffer.from('/'), Buffer.from([0x66, 0xff])]);
    assert.equal((await readFile(file)).toString(), 'bytes');
    const [parent, name] = splitParent(file);
    assert.deepEqual(parent, raw);
    assert.deepEqual(name, Buffer.from([0x66, 0xff]));
    await writeFileAtomic(file, 'again');
    assert.equal((await readFile(file)).toString(), 'again');
  });

  it('moveNoReplace never replaces an existing name, and link/rename work between pinned directories', async () => {
    const a = await PinnedDirectory.open(join(dir, 'mv-a'), { createMode: 0o700 });
    const b = await PinnedDirectory.open(join(dir, 'mv-b'), { createMode: 0o700 });
    try {
      await a.writeFileAtomic('one', '1');
      await b.writeFileAtomic('one', 'other');
      await assert.rejects(a.moveNoReplace('one', b, 'one'), { code: 'EEXIST' });
      assert.equal(await readFile(join(dir, 'mv-b', 'one'), 'utf8'), 'other');
      await a.moveNoReplace('one', b, 'two');
      assert.equal(await exists(join(dir, 'mv-a', 'one')), false);
      await b.rename('two', a, 'three');
      assert.equal(await readFile(join(dir, 'mv-a', 'three'), 'utf8'), '1');
      await b.mkdir('sub', 0o700);
      await b.rmdir('sub');
      await symlink('/etc/passwd', join(dir, 'mv-a', 'link'));
      await assert.rejects(a.openFile('link', constants.O_RDONLY), { code: 'ELOOP' });
      assert.equal((await a.lstat('link')).isSymbolicLink(), true);
      await a.unlink('link');
      assert.equal(await exists('/etc/passwd'), true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('leaves the old or the new content, never a mix, when the writer is SIGKILLed at random points', async () => {
    const path = join(dir, 'killed.json');
    await writeFileAtomic(path, JSON.stringify({ version: 0, pad: 'x'.repeat(100_000) }));
    const random = mulberry32(20261202);
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(new URL('../../src/core/durable-fs.ts', import.meta.url).href)};
      for (let version = 1; ; version++) {
        await writeFileAtomic(${JSON.stringify(path)}, JSON.stringify({ version, pad: 'x'.repeat(100_000 + version) }));
        if (version === 1) process.stdout.write('ready\\n');
      }`;
    for (let round = 0; round < 8; round++) {
      const child = spawn(process.execPath, ['--import=tsx/esm', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      // Random points after the first completed write.
      await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 50)));
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const parsed = JSON.parse(await readFile(path, 'utf8')) as { version: number; pad: string };
      assert.equal(parsed.pad.length, 100_000 + parsed.version);
    }
    // Stray temp files from killed writers may remain; they never replace the target.
    for (const name of await readdir(dir)) if (name.startsWith('.killed.json.')) await rm(join(dir, name));
  });
});
