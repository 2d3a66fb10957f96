// The agent's `bans` section: validated with every problem named, and wired so that a
// brute force in the followed log becomes a ban (observe mode here; enforce is the
// nftables path the kernel tests cover).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../src/cli/agent.js';
import { ConfigError, validateConfig } from '../../src/cli/config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { BanEvent } from '../../src/response/ban-manager.js';

const notifier = { channels: [{ type: 'console' }] };

describe('agent config: bans', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-agent-bans-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('accepts a full section and names every problem of a bad one', () => {
    const config = validateConfig({
      notifier,
      bans: {
        mode: 'enforce',
        table: 'hostwarden',
        hooks: ['input', 'forward'],
        action: 'reject',
        banTime: '10m',
        maxBanTime: '7d',
        escalation: { multipliers: [1, 2, 4] },
        ignore: ['10.0.0.0/8'],
        ipv6Prefix: 64,
        subnet: { threshold: 5, within: '1h' },
      },
    });
    assert.equal(config.bans?.banTime, 600_000);
    assert.throws(
      () => validateConfig({ notifier, bans: { mode: 'enforced', table: 'x; flush ruleset', bantime: '1h', hooks: ['output'] } }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const paths = error.issues.map((i) => i.path);
        for (const p of ['config.bans.mode', 'config.bans.table', 'config.bans.bantime', 'config.bans.hooks[0]']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
        assert.match(error.issues.find((i) => i.path === 'config.bans.bantime')?.message ?? '', /did you mean "banTime"/);
        return true;
      },
    );
  });

  it('a brute force in the followed log becomes a ban, reported to the logger and the notifier', async () => {
    const log = join(dir, 'auth.log');
    await writeFile(log, '');
    const out: string[] = [];
    const config = validateConfig({ stateDirectory: join(dir, 'state'), logs: { files: [log] }, bans: { mode: 'observe', ignoreSshSession: false }, notifier });
    const agent = new Agent(config, { env: {}, logger: silentLogger, stdout: { write: (s: string) => (out.push(s), true) } });
    const bans: BanEvent[] = [];
    agent.parts.bans?.on('ban', (e) => bans.push(e));
    await agent.start();
    try {
      const lines = Array.from({ length: 5 }, (_, i) => `Mar  3 10:00:1${i} web1 sshd[${400 + i}]: Failed password for root from 203.0.113.45 port ${5000 + i} ssh2`);
      await appendFile(log, `${lines.join('\n')}\n`);
      const deadline = Date.now() + 10_000;
      while (bans.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(bans[0]?.ban.address, '203.0.113.45');
      assert.equal(bans[0]?.mode, 'observe');
      while (!out.join('').includes('Would ban 203.0.113.45') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.match(out.join(''), /Would ban 203\.0\.113\.45 for 10m/);
    } finally {
      await agent.stop();
    }
  });
});
