// NftablesBackend on a real kernel: a veth pair between two network namespaces, a TCP
// listener in the defended one, and real connects from the attacker's addresses.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NftablesBackend } from '../../src/response/nftables-backend.js';
import { createLab, run, type Lab } from './helpers/netns.js';

const HOUR = 3_600_000;

describe('NftablesBackend in a network namespace', () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab();
  });
  after(async () => {
    await lab?.close();
  });

  it('blocks a banned IPv4 and IPv6 source, counts the drops, and lets it in after the unban', async () => {
    const backend = new NftablesBackend({ table: 'hwban', nftCommand: lab.nft, action: 'reject' });
    const [v4] = lab.attackers4 as [string];
    const [v6] = lab.attackers6 as [string];
    assert.equal(await lab.connect(v4), true, 'reachable before the ban');
    assert.equal(await lab.connect(v6), true, 'reachable before the ban (IPv6)');
    const report = await backend.start([]);
    assert.deepEqual(report, { existed: false, added: 0, removed: 0, updated: 0 });
    const until = Date.now() + HOUR;
    await backend.add([
      { address: v4, until },
      { address: v6, until },
    ]);
    assert.equal(await lab.connect(v4), false, 'blocked after the ban');
    assert.equal(await lab.connect(v6), false, 'blocked after the ban (IPv6)');
    assert.equal(await lab.connect(lab.attackers4[1] as string), true, 'another address still gets in');
    const counters = await backend.counters();
    assert.ok(counters.ipv4.packets >= 1, `IPv4 drops counted: ${JSON.stringify(counters)}`);
    assert.ok(counters.ipv6.packets >= 1);
    const listed = await backend.list();
    assert.deepEqual(listed.map((e) => e.address).sort(), [v4, v6].sort());
    for (const entry of listed) assert.ok(Math.abs(entry.until - until) < 3000, 'the kernel holds the timeout');
    await backend.remove([
      { address: v4, until },
      { address: v6, until },
    ]);
    assert.equal(await lab.connect(v4), true, 'the unban lets it in');
    assert.equal(await lab.connect(v6), true);
    // Removing what is not there is not an error (and does not fail the transaction).
    await backend.remove([{ address: v4, until }]);
    await backend.stop();
  });

  it('drops by default: a dropped SYN is never answered', async () => {
    const backend = new NftablesBackend({ table: 'hwdrop', nftCommand: lab.nft });
    const src = lab.attackers4[2] as string;
    await backend.start([{ address: src, until: Date.now() + HOUR }]);
    assert.equal(await lab.connect(src, 400), false);
    await backend.start([]);
    assert.equal(await lab.connect(src), true, 'start() with no entries removes the unknown element');
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwdrop']);
  });

  it('a kernel timeout expires the ban without the process', async () => {
    const backend = new NftablesBackend({ table: 'hwexp', nftCommand: lab.nft, action: 'reject' });
    const src = lab.attackers4[3] as string;
    await backend.start([]);
    await backend.add([{ address: src, until: Date.now() + 1000 }]);
    assert.equal(await lab.connect(src), false);
    await backend.stop();
    // No process holds the ban now; the kernel drops the element when its timeout ends.
    // Poll the kernel's own view (a readiness signal, not a fixed sleep).
    const reader = new NftablesBackend({ table: 'hwexp', nftCommand: lab.nft });
    const deadline = Date.now() + 10_000;
    while ((await reader.list()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await reader.list(), []);
    assert.equal(await lab.connect(src), true);
  });

  it('a /64 ban blocks a fresh address inside it, and a CIDR ban matches hosts inside the range', async () => {
    const backend = new NftablesBackend({ table: 'hwnet', nftCommand: lab.nft, action: 'reject' });
    await backend.start([]);
    const prefix64 = lab.server6.replace(/::1$/, '::/64');
    const fresh = lab.server6.replace(/::1$/, '::abcd:1234');
    const otherNet = lab.server6.replace(/::1$/, ':0:1::5');
    lab.addAttackerAddress(fresh);
    lab.addAttackerAddress(otherNet);
    const net4 = (lab.attackers4[0] as string).replace(/\.\d+$/, '.0/28'); // .0-.15 holds .10-.15
    await backend.add([
      { address: prefix64, until: Date.now() + HOUR },
      { address: net4, until: Date.now() + HOUR },
    ]);
    assert.equal(await lab.connect(fresh), false, 'fresh address in the banned /64');
    assert.equal(await lab.connect(otherNet), true, 'the neighbouring /64 is not banned');
    assert.equal(await lab.connect(lab.attackers4[5] as string), false, '.15 is inside /28');
    assert.equal(await lab.connect(lab.attackers4[6] as string), true, '.16 is outside /28');
    const listed = (await backend.list()).map((e) => e.address).sort();
    assert.deepEqual(listed, [net4, prefix64].sort());
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwnet']);
  });

  it('gathers concurrent writes into one transaction', async () => {
    const backend = new NftablesBackend({ table: 'hwbatch', nftCommand: lab.nft });
    await backend.start([]);
    const before = backend.transactions;
    const until = Date.now() + HOUR;
    await Promise.all(Array.from({ length: 300 }, (_, i) => backend.add([{ address: `198.51.${i >> 8}.${i & 255}`, until }])));
    assert.equal(backend.transactions - before, 1);
    assert.equal((await backend.list()).length, 300);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwbatch']);
  });

  it('re-adding a banned address sets its new timeout without a gap', async () => {
    const backend = new NftablesBackend({ table: 'hwrep', nftCommand: lab.nft });
    await backend.start([]);
    const now = Date.now();
    await backend.add([{ address: '192.0.2.1', until: now + HOUR }]);
    await backend.add([{ address: '192.0.2.1', until: now + 5 * HOUR }]);
    const [entry] = await backend.list();
    assert.ok(entry && Math.abs(entry.until - (now + 5 * HOUR)) < 3000, `timeout replaced: ${JSON.stringify(entry)}`);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwrep']);
  });

  it('recreates its table when it vanished while running', async () => {
    const backend = new NftablesBackend({ table: 'hwgone', nftCommand: lab.nft, action: 'reject' });
    await backend.start([]);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwgone']);
    const src = lab.attackers4[7] as string;
    await backend.add([{ address: src, until: Date.now() + HOUR }]);
    assert.equal(await lab.connect(src), false);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwgone']);
  });

  it('rejects bad options naming the option', () => {
    assert.throws(() => new NftablesBackend({ table: 'x; flush ruleset' }), /`table`/);
    assert.throws(() => new NftablesBackend({ table: 'sixteencharsname' }), /`table`/);
    assert.throws(() => new NftablesBackend({ hooks: ['output' as 'input'] }), /`hooks\[0\]`/);
    assert.throws(() => new NftablesBackend({ batchWindow: 51 }), /`batchWindow`/);
    assert.throws(() => new NftablesBackend({ tabel: 'x' } as never), /`tabel`/);
  });

  it('refuses an address that is not one before anything runs', async () => {
    const backend = new NftablesBackend({ table: 'hwbad', nftCommand: lab.nft });
    assert.throws(() => backend.add([{ address: '1.2.3.4 }; flush ruleset; add element inet x y {', until: Date.now() + HOUR }]), /`address`/);
  });
});

describe('NftablesBackend: a wider prefix over banned narrower ones', () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab();
  });
  after(async () => {
    await lab?.close();
  });

  it('adds the wide prefix to the other prefix set, then the narrow ones can go, with no gap', async () => {
    const backend = new NftablesBackend({ table: 'hwwide', nftCommand: lab.nft, action: 'reject' });
    await backend.start([]);
    const src = lab.attackers6[0] as string;
    const p64 = lab.server6.replace(/::1$/, '::/64');
    const p48 = lab.server6.replace(/::1$/, '::/48');
    const until = Date.now() + HOUR;
    await backend.add([{ address: p64, until }]);
    await backend.add([{ address: p48, until }]);
    assert.equal(await lab.connect(src), false);
    await backend.remove([{ address: p64, until }]);
    assert.equal(await lab.connect(src), false, 'still inside the /48');
    assert.deepEqual(
      (await backend.list()).map((e) => e.address),
      [p48],
    );
    // A restart with both in the state places them in different sets again.
    const again = new NftablesBackend({ table: 'hwwide', nftCommand: lab.nft, action: 'reject' });
    const report = await again.start([
      { address: p64, until },
      { address: p48, until },
    ]);
    assert.equal(report.added, 1);
    assert.equal((await again.list()).length, 2);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwwide']);
  });
});
