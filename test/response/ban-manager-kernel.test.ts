// BanManager with NftablesBackend on a real kernel, in network namespaces: restarts,
// SIGKILL, reboots (table deleted) and escalation, proven with real connects.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createAlert } from '../../src/core/alert.js';
import { BanManager } from '../../src/response/ban-manager.js';
import { NftablesBackend } from '../../src/response/nftables-backend.js';
import { createLab, run, type Lab } from './helpers/netns.js';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('BanManager on nftables in a network namespace', () => {
  let lab: Lab;
  let dir: string;
  before(async () => {
    lab = await createLab();
    dir = await mkdtemp(join(tmpdir(), 'hw-bans-kernel-'));
  });
  after(async () => {
    await lab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('bans the attacker of a brute-force alert and never this host or the ignore list', async () => {
    const backend = new NftablesBackend({ table: 'hwmgr', nftCommand: lab.nft, action: 'reject' });
    const ignored = lab.attackers4[1] as string;
    const manager = new BanManager({ backend, stateFile: join(dir, 'mgr.jsonl'), ignore: [ignored], ignoreSshSession: false });
    manager.on('warning', () => {});
    await manager.start();
    try {
      const attacker = lab.attackers4[0] as string;
      assert.equal(await lab.connect(attacker), true);
      const alert = (host: string) => createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: `brute force from ${host}`, labels: { host } });
      await manager.handleAlert(alert(attacker));
      assert.equal(await lab.connect(attacker), false, 'banned');
      assert.equal(await manager.handleAlert(alert(ignored)), undefined);
      assert.equal(await manager.handleAlert(alert('127.0.0.1')), undefined);
      assert.equal(await lab.connect(ignored), true, 'the ignore list is never banned');
      const kernel = (await backend.list()).map((e) => e.address);
      assert.deepEqual(kernel, [attacker], 'only the attacker is in the kernel');
      await manager.unban(attacker);
      assert.equal(await lab.connect(attacker), true);
    } finally {
      await manager.stop();
      run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwmgr']);
    }
  });

  it('kill -9 and restart keep every ban, with no element ever deleted on the way', async () => {
    const stateFile = join(dir, 'kill.jsonl');
    const banned = lab.attackers4.slice(2, 5);
    const child = spawn(process.execPath, ['--import=tsx/esm', `${here}helpers/ban-child.ts`, stateFile, JSON.stringify(lab.nft), ...banned], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(readline.createInterface({ input: child.stdout }), 'line')) as [string];
    assert.equal(line, 'banned');
    child.kill('SIGKILL');
    await once(child, 'close');
    for (const a of banned) assert.equal(await lab.connect(a), false, 'the kernel keeps the bans after the process died');
    // Watch the kernel's own event stream while the new process reconciles.
    const monitor = spawn('ip', ['netns', 'exec', lab.def, 'nft', 'monitor', 'elements']);
    const events: string[] = [];
    readline.createInterface({ input: monitor.stdout }).on('line', (l) => events.push(l));
    // nft monitor is subscribed once it echoes a change made after it started.
    const probe = new NftablesBackend({ table: 'hwprobe', nftCommand: lab.nft });
    await probe.start([]);
    for (let i = 0; i < 200 && !events.some((e) => e.includes('hwprobe')); i++) {
      await probe.add([{ address: '192.0.2.1', until: Date.now() + 60_000 }]);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(
      events.some((e) => e.includes('hwprobe')),
      'monitor is listening',
    );
    const backend = new NftablesBackend({ table: 'hwkill', nftCommand: lab.nft, action: 'reject' });
    const manager = new BanManager({ backend, stateFile, banTime: '1h', ignoreSshSession: false });
    await manager.start();
    // One more change to be sure every event of the restart has been read.
    await probe.add([{ address: '192.0.2.2', until: Date.now() + 60_000 }]);
    for (let i = 0; i < 200 && !events.some((e) => e.includes('192.0.2.2')); i++) await new Promise((r) => setTimeout(r, 20));
    monitor.kill();
    try {
      assert.deepEqual(
        manager
          .list()
          .map((b) => b.address)
          .sort(),
        [...banned].sort(),
      );
      const deletions = events.filter((e) => e.startsWith('delete') && e.includes('hwkill'));
      assert.deepEqual(deletions, [], 'no ban element was deleted during the restart');
      assert.deepEqual(manager.reconcileReport, { existed: true, added: 0, removed: 0, updated: 0 });
      assert.equal(backend.transactions, 0, 'an intact table is left alone: no transaction at all');
      for (const a of banned) assert.equal(await lab.connect(a), false);
    } finally {
      await manager.stop();
      run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwkill']);
      run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwprobe']);
    }
  });

  it('restores 20,000 bans in one transaction after a reboot (table deleted)', async () => {
    const stateFile = join(dir, 'reboot.jsonl');
    const attacker = lab.attackers4[5] as string;
    const addresses = [attacker, ...Array.from({ length: 19_999 }, (_, i) => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`)];
    const first = new BanManager({ backend: new NftablesBackend({ table: 'hwboot', nftCommand: lab.nft, action: 'reject' }), stateFile, banTime: '1h', ignoreSshSession: false });
    await first.start();
    await Promise.all(addresses.map((a) => first.ban(a)));
    await first.stop();
    assert.equal(await lab.connect(attacker), false);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwboot']);
    assert.equal(await lab.connect(attacker), true, 'the reboot lost the kernel state');
    const backend = new NftablesBackend({ table: 'hwboot', nftCommand: lab.nft, action: 'reject' });
    const second = new BanManager({ backend, stateFile, banTime: '1h', ignoreSshSession: false });
    await second.start();
    try {
      assert.equal(backend.transactions, 1, 'one transaction');
      assert.deepEqual(second.reconcileReport, { existed: false, added: 20_000, removed: 0, updated: 0 });
      assert.equal((await backend.list()).length, 20_000);
      assert.equal(await lab.connect(attacker), false, 'banned again');
    } finally {
      await second.stop();
      run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwboot']);
    }
  });

  it("escalation doubles a repeat offender's kernel timeout", async () => {
    const now = Date.now();
    const backend = new NftablesBackend({ table: 'hwesc', nftCommand: lab.nft, action: 'reject', clock: () => now });
    const manager = new BanManager({ backend, stateFile: join(dir, 'esc.jsonl'), banTime: '1h', ignoreSshSession: false, clock: () => now });
    await manager.start();
    try {
      const attacker = lab.attackers4[6] as string;
      await manager.ban(attacker);
      const [first] = await backend.list();
      assert.ok(first && Math.abs(first.until - (now + 3_600_000)) < 3000);
      await manager.unban(attacker);
      const second = await manager.ban(attacker);
      assert.equal(second?.count, 2);
      const [entry] = await backend.list();
      assert.ok(entry && Math.abs(entry.until - (now + 7_200_000)) < 3000, `kernel timeout doubled: ${entry && entry.until - now}`);
      assert.equal(await lab.connect(attacker), false);
    } finally {
      await manager.stop();
      run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwesc']);
    }
  });
});
