// The ban journal: appends racing compactions, reopening, and a full disk (a real tmpfs).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BanManager } from '../../src/response/ban-manager.js';
import { MemoryBackend } from '../../src/response/memory-backend.js';
import { BanStateFile } from '../../src/response/state-file.js';

describe('BanStateFile', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-journal-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every record when appends and compactions interleave', async () => {
    const path = join(dir, 'race.jsonl');
    const { file } = await BanStateFile.open(path);
    await file.compact([]);
    const live = new Set<string>();
    const work: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      const address = `198.51.${i >> 8}.${i & 255}`;
      live.add(address);
      work.push(file.append([{ t: 'ban', address, rule: 'r', reason: 'x', since: 1, until: 2e12, count: 1 }]).durable);
      if (i % 300 === 0) {
        const snapshot = [...live].map((a) => ({ t: 'ban' as const, address: a, rule: 'r', reason: 'x', since: 1, until: 2e12, count: 1 }));
        work.push(file.compact(snapshot));
      }
    }
    await Promise.all(work);
    await file.close();
    const state = await BanStateFile.read(path);
    assert.equal(state.bans.size, 2000);
    assert.deepEqual(state.warnings, []);
  });

  it('a full disk degrades the state check and reports an error, and the ban still reaches the firewall', async () => {
    const mount = join(dir, 'tiny');
    execFileSync('mkdir', ['-p', mount]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]);
    try {
      const backend = new MemoryBackend();
      const manager = new BanManager({ backend, stateFile: join(mount, 'bans.jsonl'), ignoreSshSession: false });
      const errors: Error[] = [];
      manager.on('error', (e) => errors.push(e));
      await manager.start();
      await writeFile(join(mount, 'filler'), Buffer.alloc(60 * 1024)).catch(() => {}); // fill what is left
      for (let i = 0; i < 200 && errors.length === 0; i++) await manager.ban(`203.0.113.${i % 250}`, { reason: 'x'.repeat(200) });
      assert.ok(errors.length >= 1, 'the full disk is reported');
      assert.match(errors[0]?.message ?? '', /Cannot record bans/);
      assert.equal(manager.health().state, 'degraded');
      assert.equal(manager.health().checks.find((c) => c.name === 'state')?.ok, false);
      assert.ok(backend.has('203.0.113.0'), 'banned in the firewall all the same');
      assert.equal(errors.length, 1, 'one report per failure streak, not one per ban');
      await manager.stop();
    } finally {
      execFileSync('umount', [mount]);
    }
  });
});
