// BanManager against the in-memory fake firewall, a fake clock and real state files.
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAlert, type Alert } from '../../src/core/alert.js';
import { HostwardenEmitter, type BaseEvents } from '../../src/core/emitter.js';
import { BanManager, type BanEvent, type UnbanEvent } from '../../src/response/ban-manager.js';
import type { BanManagerOptions } from '../../src/response/ban-options.js';
import { MemoryBackend } from '../../src/response/memory-backend.js';
import type { Warning } from '../../src/core/warning.js';

const MIN = 60_000;
const HOUR = 60 * MIN;

function bruteForce(host: string, rule = 'sshd.brute-force', status: 'firing' | 'resolved' = 'firing'): Alert {
  return createAlert({ source: 'log', rule, severity: 'critical', status, title: `SSH brute force from ${host}`, labels: { host } });
}

class FakeWatcher extends HostwardenEmitter<BaseEvents & { alert: [alert: Alert] }> {}

describe('BanManager', () => {
  let dir: string;
  let now: number;
  const clock = () => now;
  const managers: BanManager[] = [];
  const make = (options: { [K in keyof BanManagerOptions]?: BanManagerOptions[K] | undefined } = {}, backend = new MemoryBackend({ clock })) => {
    const manager = new BanManager({ backend, stateFile: join(dir, 'bans.jsonl'), clock, ignoreSshSession: false, ...options } as BanManagerOptions);
    const events = { bans: [] as BanEvent[], unbans: [] as UnbanEvent[], alerts: [] as Alert[], warnings: [] as Warning[], errors: [] as Error[] };
    manager.on('ban', (e) => events.bans.push(e));
    manager.on('unban', (e) => events.unbans.push(e));
    manager.on('alert', (a) => events.alerts.push(a));
    manager.on('warning', (w) => events.warnings.push(w));
    manager.on('error', (e) => events.errors.push(e));
    managers.push(manager);
    return { manager, backend, events };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hw-bans-'));
    now = Date.UTC(2026, 0, 1);
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('bans labels.host of firing alerts of the chosen rules, and only those', async () => {
    const { manager, backend, events } = make();
    const watcher = new FakeWatcher();
    manager.attach(watcher);
    await manager.start();
    assert.ok(await manager.handleAlert(bruteForce('203.0.113.5')));
    assert.equal(await manager.handleAlert(bruteForce('203.0.113.6', 'sshd.failed-auth')), undefined, 'not a ban rule');
    assert.equal(await manager.handleAlert(bruteForce('203.0.113.7', 'sshd.brute-force', 'resolved')), undefined, 'resolved alerts do not ban');
    assert.equal(await manager.handleAlert(bruteForce('198.51.100.1', 'su.brute-force')), undefined, 'grouped by user: not the attacker');
    assert.ok(backend.has('203.0.113.5'));
    assert.ok(!backend.has('203.0.113.6') && !backend.has('203.0.113.7') && !backend.has('198.51.100.1'));
    // Through attach(): the emitter's alert reaches the manager.
    watcher.emit('alert', bruteForce('203.0.113.9', 'pam.brute-force'));
    await waitFor(() => backend.has('203.0.113.9'));
    const [first] = events.bans;
    assert.equal(first?.ban.address, '203.0.113.5');
    assert.equal(first?.ban.prefix, 32);
    assert.equal(first?.ban.rule, 'sshd.brute-force');
    assert.equal(first?.ban.until.getTime() - first.ban.since.getTime(), 10 * MIN, 'default banTime 10m');
    const alert = events.alerts[0];
    assert.equal(alert?.source, 'response');
    assert.equal(alert?.rule, 'ban.added');
    assert.equal(alert?.status, 'firing');
    assert.equal(alert?.labels['host'], '203.0.113.5');
  });

  it('never bans a host that is not one valid address, whatever the label says', async () => {
    const { manager, backend, events } = make();
    await manager.start();
    for (const host of ['evil.example.com', '203.0.113.5 }; flush ruleset', '203.0.113.0/24', '', '::ffff:999.1.1.1', '\u202e5.113.0.203', 'fe80::1%eth0']) {
      assert.equal(await manager.handleAlert(bruteForce(host)), undefined, JSON.stringify(host));
    }
    assert.deepEqual(await backend.list(), []);
    assert.equal(backend.transactions, 1, 'only start() wrote');
    assert.ok(events.warnings.length >= 6);
    assert.ok(
      events.warnings.every((w) => !/[\u202e\n]/.test(w.message)),
      'attacker text is escaped in warnings',
    );
    await assert.rejects(manager.ban('not-an-ip'), /`address`/);
  });

  it('spares the ignore list, this host, loopback and the SSH session client', async () => {
    const saved = process.env['SSH_CONNECTION'];
    process.env['SSH_CONNECTION'] = '192.0.2.44 51234 10.0.0.1 22';
    try {
      const own = Object.values(networkInterfaces())
        .flat()
        .find((i) => i && !i.internal)?.address;
      const { manager, backend, events } = make({ ignore: ['198.51.100.0/24', '2001:db8:aaaa::/48'], ignoreSshSession: true });
      await manager.start();
      const spared = ['198.51.100.77', '127.0.0.1', '::1', '::ffff:127.0.0.1', '192.0.2.44', '2001:db8:aaaa:1::5', ...(own ? [own] : [])];
      for (const address of spared) assert.equal(await manager.handleAlert(bruteForce(address)), undefined, address);
      assert.equal(await manager.ban('198.51.0.0/16'), undefined, 'a network holding an ignored one is refused');
      assert.equal(await manager.ban('0.0.0.0/0'), undefined, 'and so is everything');
      assert.deepEqual(await backend.list(), []);
      assert.ok(events.warnings.filter((w) => w.code === 'ban.ignored').length >= spared.length);
      assert.ok(await manager.ban('203.0.113.1'), 'others are banned');
    } finally {
      if (saved === undefined) delete process.env['SSH_CONNECTION'];
      else process.env['SSH_CONNECTION'] = saved;
    }
  });

  it('bans IPv6 by its /64 and IPv4-mapped addresses as IPv4', async () => {
    const { manager, backend } = make();
    await manager.start();
    const ban = await manager.handleAlert(bruteForce('2001:db8:1:2:aaaa:bbbb:cccc:dddd'));
    assert.equal(ban?.address, '2001:db8:1:2::/64');
    assert.equal(ban?.prefix, 64);
    assert.ok(backend.has('2001:db8:1:2::/64'));
    const again = await manager.handleAlert(bruteForce('2001:db8:1:2::99'));
    assert.equal(again?.since.getTime(), ban?.since.getTime(), 'a fresh address in the /64 is already banned');
    assert.equal((await manager.handleAlert(bruteForce('::ffff:203.0.113.8')))?.address, '203.0.113.8');
    assert.equal(manager.find('2001:db8:1:2::1234')?.address, '2001:db8:1:2::/64');
    const lifted = await manager.unban('2001:db8:1:2::1');
    assert.equal(lifted?.address, '2001:db8:1:2::/64', 'unban by any address inside');
    assert.ok(!backend.has('2001:db8:1:2::/64'));
  });

  it("doubles a repeat offender's time, capped by maxBanTime, and remembers it across a restart", async () => {
    const first = make({ banTime: '1h', maxBanTime: '3h' });
    await first.manager.start();
    const b1 = await first.manager.handleAlert(bruteForce('203.0.113.5'));
    assert.equal(b1!.until.getTime() - b1!.since.getTime(), HOUR);
    now += HOUR + 1;
    assert.deepEqual(first.manager.list(), [], 'expired');
    assert.equal(first.events.unbans[0]?.reason, 'expired');
    assert.equal(first.events.alerts.at(-1)?.status, 'resolved');
    const b2 = await first.manager.handleAlert(bruteForce('203.0.113.5'));
    assert.equal(b2!.count, 2);
    assert.equal(b2!.until.getTime() - b2!.since.getTime(), 2 * HOUR, 'doubled');
    await first.manager.stop();
    now += 2 * HOUR + 1;
    const second = make({ banTime: '1h', maxBanTime: '3h' }, first.backend);
    await second.manager.start();
    const b3 = await second.manager.handleAlert(bruteForce('203.0.113.5'));
    assert.equal(b3!.count, 3, 'the count survived the restart');
    assert.equal(b3!.until.getTime() - b3!.since.getTime(), 3 * HOUR, 'capped at maxBanTime');
  });

  it('forgets an offender after escalation.forgetAfter, and takes multipliers or a formula', async () => {
    const { manager } = make({ banTime: '1m', escalation: { multipliers: [1, 5, 30], forgetAfter: HOUR } });
    await manager.start();
    const lengths: number[] = [];
    for (let i = 0; i < 4; i++) {
      const ban = await manager.ban('203.0.113.5', { rule: 'test' });
      lengths.push(ban!.until.getTime() - ban!.since.getTime());
      now = ban!.until.getTime() + 1;
    }
    assert.deepEqual(lengths, [MIN, 5 * MIN, 30 * MIN, 30 * MIN]);
    now += HOUR + 1;
    const fresh = await manager.ban('203.0.113.5');
    assert.equal(fresh!.count, 1);
    const formula = make({ banTime: '1m', escalation: { formula: (count, base) => base * (count * 10) }, stateFile: join(dir, 'other.jsonl') });
    await formula.manager.start();
    const f1 = await formula.manager.ban('198.51.100.1');
    assert.equal(f1!.until.getTime() - f1!.since.getTime(), 10 * MIN);
  });

  it('bans the subnet when enough of its addresses were banned within the window', async () => {
    const { manager, backend, events } = make({ subnet: { threshold: 3, within: HOUR } });
    await manager.start();
    await manager.ban('203.0.113.1');
    await manager.ban('203.0.113.2');
    now += 2 * HOUR; // outside the window: starts over
    await manager.ban('203.0.113.3');
    await manager.ban('203.0.113.4');
    assert.ok(!backend.has('203.0.113.0/24'));
    await manager.ban('203.0.113.5');
    await waitFor(() => events.bans.some((e) => e.ban.rule === 'subnet'));
    assert.ok(backend.has('203.0.113.0/24'));
    const subnet = events.bans.find((e) => e.ban.rule === 'subnet');
    assert.equal(subnet?.ban.address, '203.0.113.0/24');
    assert.ok(
      events.unbans.some((u) => u.reason === 'widened'),
      'the addresses inside are now held by the subnet ban',
    );
    assert.equal(manager.find('203.0.113.200')?.address, '203.0.113.0/24');
  });

  it('observe mode reports bans and touches no firewall', async () => {
    const { manager, events } = make({ mode: 'observe', backend: undefined, stateFile: undefined });
    await manager.start();
    const ban = await manager.handleAlert(bruteForce('203.0.113.5'));
    assert.equal(ban?.address, '203.0.113.5');
    assert.equal(events.bans[0]?.mode, 'observe');
    assert.match(events.alerts[0]?.title ?? '', /^Would ban 203\.0\.113\.5 for 10m/);
    assert.equal(events.alerts[0]?.labels['mode'], 'observe');
    assert.throws(() => new BanManager({ clock }), /`backend`/, 'enforce needs a backend');
  });

  it('restores bans from the journal after a reboot (firewall empty) and drops unknown elements', async () => {
    const first = make({ banTime: '1h' });
    await first.manager.start();
    await first.manager.ban('203.0.113.5');
    await first.manager.ban('2001:db8::1');
    await first.manager.stop();
    first.backend.wipe();
    await first.backend.add([{ address: '192.0.2.99', until: now + HOUR }]); // not ours to keep
    const second = make({ banTime: '1h' }, first.backend);
    await second.manager.start();
    assert.deepEqual(
      second.manager.list().map((b) => b.address),
      ['203.0.113.5', '2001:db8::/64'],
    );
    assert.ok(first.backend.has('203.0.113.5') && first.backend.has('2001:db8::/64'));
    assert.ok(!first.backend.has('192.0.2.99'));
    assert.deepEqual(second.manager.reconcileReport, { existed: true, added: 2, removed: 1, updated: 0 });
  });

  it('skips a torn last line with a warning and refuses a file that is not a ban journal', async () => {
    const first = make();
    await first.manager.start();
    await first.manager.ban('203.0.113.5');
    await first.manager.stop();
    await appendFile(join(dir, 'bans.jsonl'), '{"t":"ban","address":"203.0.1');
    const second = make({}, first.backend);
    await second.manager.start();
    assert.deepEqual(
      second.manager.list().map((b) => b.address),
      ['203.0.113.5'],
    );
    assert.ok(second.events.warnings.some((w) => w.code === 'bans.state-torn'));
    await writeFile(join(dir, 'notes.txt'), 'my notes\n');
    const third = make({ stateFile: join(dir, 'notes.txt') });
    await assert.rejects(third.manager.start(), /not a hostwarden ban state file/);
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'my notes\n', 'left untouched');
  });

  it('lets one process own the journal at a time, and takes over the lock of a dead one', async () => {
    const first = make();
    await first.manager.start();
    const second = make({}, first.backend);
    await assert.rejects(second.manager.start(), /in use by process \d+/);
    await first.manager.stop();
    await writeFile(join(dir, 'bans.jsonl.lock'), '999999999\n'); // a pid that cannot exist
    const third = make({}, first.backend);
    await third.manager.start();
    assert.equal(third.manager.state, 'running');
  });

  it('reports a failed firewall write as an error and a degraded health', async () => {
    const { manager, backend, events } = make();
    await manager.start();
    assert.equal(manager.health().state, 'ok');
    backend.failNext(new Error('nft: Operation not permitted'));
    await assert.rejects(manager.ban('203.0.113.5'), /Operation not permitted/);
    assert.equal(manager.health().state, 'degraded');
    assert.match(manager.health().checks.find((c) => c.name === 'firewall')?.message ?? '', /not permitted/);
    assert.equal(events.bans.length, 0, 'no ban event for a ban that did not happen');
    await manager.ban('203.0.113.6');
    assert.equal(manager.health().state, 'ok');
  });

  it('rejects unknown and invalid options, naming them', () => {
    const backend = new MemoryBackend();
    assert.throws(() => new BanManager({ backend, bantime: '1h' } as never), /did you mean `banTime`/);
    assert.throws(() => new BanManager({ backend, banTime: 'soon' }), /`banTime`/);
    assert.throws(() => new BanManager({ backend, banTime: '2h', maxBanTime: '1h' }), /`maxBanTime`/);
    assert.throws(() => new BanManager({ backend, ignore: ['localhost'] }), /`ignore\[0\]`/);
    assert.throws(() => new BanManager({ backend, ipv6Prefix: 8 }), /`ipv6Prefix`/);
    assert.throws(() => new BanManager({ backend, escalation: { factr: 2 } as never }), /Unknown option `factr` of BanManager escalation \(did you mean `factor`\?\)/);
    assert.throws(() => new BanManager({ backend, mode: 'dry' as never }), /`mode`/);
  });
});

// Waits for a condition that follows from an event (a journal fsync, a firewall write)
// without a fixed sleep: checks it every few milliseconds, for up to 10 s.
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), 'condition reached');
}
