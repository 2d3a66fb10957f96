// `hostwarden bans` against a real nftables table in a network namespace.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../cli/helpers.js';
import { BanManager } from '../../src/response/ban-manager.js';
import { MemoryBackend } from '../../src/response/memory-backend.js';
import { createLab, run, type Lab } from './helpers/netns.js';

describe('hostwarden bans', () => {
  let lab: Lab;
  let dir: string;
  before(async () => {
    lab = await createLab();
    dir = await mkdtemp(join(tmpdir(), 'hw-bans-cli-'));
  });
  after(async () => {
    await lab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('bans for a given time, lists, and unbans, with real packets', async () => {
    const attacker = lab.attackers4[0] as string;
    const args = ['--state', join(dir, 'bans.jsonl'), '--table', 'hwcli', '--netns', lab.def];
    const banned = await cli(['bans', 'ban', attacker, '--for', '2h', '--reason', 'seen in \u001b[31mred', ...args]);
    assert.equal(banned.code, 0, banned.stderr);
    assert.match(banned.stdout, new RegExp(`^Banned ${attacker.replace(/\./g, '\\.')} until .* \\(2h, ban #1\\)`));
    assert.equal(await lab.connect(attacker), false);
    const listed = await cli(['bans', 'list', ...args]);
    assert.equal(listed.code, 0);
    assert.match(listed.stdout, new RegExp(`${attacker.replace(/\./g, '\\.')}\\s+manual\\s+1h59m\\d*s? left  #1`));
    const json = JSON.parse((await cli(['bans', 'list', '--json', ...args])).stdout) as { bans: { address: string; enforced: boolean; reason: string }[] };
    assert.equal(json.bans[0]?.address, attacker);
    assert.equal(json.bans[0]?.enforced, true);
    assert.ok(!json.bans[0]?.reason.includes('\u001b'), 'the escape character is stored escaped');
    const lifted = await cli(['bans', 'unban', attacker, ...args]);
    assert.equal(lifted.code, 0);
    assert.equal(await lab.connect(attacker), true);
    assert.equal((await cli(['bans', 'unban', attacker, ...args])).code, 1, 'nothing to lift');
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwcli']);
  });

  it('refuses what is not an address, spares loopback, and waits for the agent to let go of the journal', async () => {
    const state = join(dir, 'locked.jsonl');
    const args = ['--state', state, '--table', 'hwcli2', '--netns', lab.def];
    const bad = await cli(['bans', 'ban', '1.2.3.4; flush ruleset', ...args]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Expected `address` to be an IPv4 or IPv6 address/);
    const spared = await cli(['bans', 'ban', '127.0.0.1', ...args]);
    assert.equal(spared.code, 2);
    assert.match(spared.stderr, /not banned: .*an address of this host/);
    const agent = new BanManager({ backend: new MemoryBackend(), stateFile: state });
    await agent.start();
    try {
      const locked = await cli(['bans', 'ban', lab.attackers4[1] as string, ...args]);
      assert.equal(locked.code, 2);
      assert.match(locked.stderr, /in use by process \d+/);
      assert.equal((await cli(['bans', 'list', ...args])).code, 0, 'list still works');
    } finally {
      await agent.stop();
    }
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwcli2']);
  });
});
