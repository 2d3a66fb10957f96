// The racing-attacker test of issue #14: an unprivileged user who owns a directory under
// the scanned tree swaps it with a symlink to a "system" directory (and swaps the file
// itself with a symlink to a system file) in a tight loop while root isolates, restores
// and removes. Nothing outside the scanned tree may ever be moved, chmodded, created or
// deleted. Runs as root (as CI does), with a real `nobody` process.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PinnedDirectory } from '../../src/core/durable-fs.js';
import { Quarantine, QuarantineError } from '../../src/index.js';
import { NOBODY, startAttacker } from './attacker.js';
import { peImage } from './samples.js';

const SYSTEM_FILES = ['passwd', 'shadow', 'sudoers', 'authorized_keys', 'crontab', 'evil.exe'];
const ROUNDS = 400;

async function snapshot(dir: string): Promise<Map<string, string>> {
  const result = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const st = await lstat(join(dir, name));
    const hash = st.isFile()
      ? createHash('sha256')
          .update(await readFile(join(dir, name)))
          .digest('hex')
      : '';
    result.set(name, [st.ino, st.mode, st.uid, st.gid, st.size, st.mtimeMs, st.ctimeMs, st.nlink, hash].join(' '));
  }
  return result;
}

describe('Quarantine against a racing unprivileged attacker', { skip: process.getuid?.() !== 0 ? 'needs root (CI runs as root)' : false }, () => {
  let base: string;
  let system: string;
  let home: string;
  let box: string;

  before(async () => {
    // Under /tmp with 0755 so `nobody` can enter it; not the worktree.
    base = await mkdtemp('/tmp/hostwarden-race-');
    await chmod(base, 0o755);
    system = join(base, 'system');
    await mkdir(system, { mode: 0o755 });
    for (const name of SYSTEM_FILES) await writeFile(join(system, name), `${name}: precious system content\n`, { mode: 0o640 });
    home = join(base, 'tree', 'home');
    await mkdir(home, { recursive: true, mode: 0o755 });
    await chmod(join(base, 'tree'), 0o755);
    await chown(home, NOBODY.uid, NOBODY.gid);
    box = join(home, 'box');
    await mkdir(box, { mode: 0o755 });
    await chown(box, NOBODY.uid, NOBODY.gid);
    await symlink(system, join(home, 'decoy'));
    await symlink(join(system, 'passwd'), join(box, 'evil-link'));
    for (const path of [join(home, 'decoy'), join(box, 'evil-link')]) await lchown(path, NOBODY.uid, NOBODY.gid);
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('never touches anything outside the scanned tree during thousands of swaps', async (t) => {
    const quarantine = new Quarantine({ directory: join(base, 'quarantine') });
    await quarantine.recover();
    const before = await snapshot(system);
    const baseEntries = (await readdir(base)).sort();
    // The test plants malware through the real directory's handle, never through a path the attacker controls.
    const realBox = await PinnedDirectory.open(box);
    const malware = peImage({ size: 4096 });
    const attacker = await startAttacker([
      [box, join(home, 'decoy')],
      [join(box, 'evil.exe'), join(box, 'evil-link')],
    ]);
    const counts = { isolated: 0, isolateRefused: 0, restored: 0, restoreRefused: 0, removed: 0 };
    let stats: { attempts: number; swaps: number };
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const handle = await realBox.openFile('evil.exe', constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o755).catch(() => undefined);
        if (handle) {
          await handle.writeFile(malware);
          await handle.chown(NOBODY.uid, NOBODY.gid);
          await handle.close();
        }
        let id: string;
        try {
          id = (await quarantine.isolate(join(box, 'evil.exe'), { reason: 'race' })).id;
          counts.isolated++;
        } catch (error) {
          assert.ok(error instanceof QuarantineError, String(error));
          counts.isolateRefused++;
          continue;
        }
        try {
          await quarantine.restore(id);
          counts.restored++;
        } catch (error) {
          assert.ok(error instanceof QuarantineError, String(error));
          counts.restoreRefused++;
          await quarantine.remove(id);
          counts.removed++;
        }
      }
    } finally {
      stats = await attacker.stop();
      await realBox.close();
    }
    const row = { attempts: stats.attempts, swaps: stats.swaps, ...counts };
    t.diagnostic(`race: ${JSON.stringify(row)}`);
    assert.ok(stats.attempts >= 1000, `the attacker tried ${stats.attempts} times`);
    assert.ok(counts.isolated > 0 && counts.isolateRefused + counts.restoreRefused > 0, `the race was real: ${JSON.stringify(counts)}`);
    // Damage found: none. Same names, inodes, modes, owners, sizes, times, link counts and content.
    assert.deepEqual(await snapshot(system), before);
    assert.deepEqual((await readdir(base)).sort(), baseEntries);
    const leftovers = (await readdir(join(base, 'quarantine'))).filter((name) => !/^q-[0-9a-z]+-[0-9a-f]{12}\.(json|data)$/.test(name));
    assert.deepEqual(leftovers, []);
  });
});
