// One real sample of the machine the tests run on, through every sampler.
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { describe, it } from 'node:test';
import { ResourceMonitor, SystemInformationSampleSource, systemInformationProcesses } from '../../src/index.js';

const linux = process.platform === 'linux';

describe('a real sample of this machine', () => {
  it('reads CPU, memory, swap, load and disks from /proc and statfs', { skip: !linux && 'not Linux' }, async () => {
    const monitor = new ResourceMonitor({ perCore: true, rules: [] });
    const errors: Error[] = [];
    monitor.on('error', (e) => errors.push(e));
    await monitor.start();
    // Burn a little CPU so the window has ticks in it.
    const until = Date.now() + 60;
    while (Date.now() < until);
    const sample = await monitor.sample();
    await monitor.stop();
    assert.equal(sample.source, 'procfs');
    assert.ok(sample.cpu, 'CPU measured over the window since start()');
    assert.ok(sample.cpu.percent > 0 && sample.cpu.percent <= 100, `cpu ${sample.cpu.percent}`);
    assert.equal(sample.cpu.perCore?.length, cpus().length);
    assert.ok(sample.memory && sample.memory.percent > 0 && sample.memory.percent < 100);
    assert.ok(sample.memory.availableBytes <= sample.memory.totalBytes);
    assert.ok(sample.swap && sample.swap.percent >= 0);
    assert.ok(sample.load && sample.load.cores === cpus().length);
    assert.ok(sample.disks.length > 0, 'at least one real file system');
    for (const disk of sample.disks) {
      assert.ok(disk.sizeBytes > 0 && disk.usedPercent >= 0 && disk.usedPercent <= 100, JSON.stringify(disk));
      assert.ok(!['proc', 'sysfs', 'tmpfs', 'devtmpfs', 'cgroup', 'cgroup2'].includes(disk.fsType), disk.fsType);
    }
    assert.ok(sample.time instanceof Date);
    assert.deepEqual(errors, []);
  });

  it('reads the same through the portable systeminformation sampler', async () => {
    const source = new SystemInformationSampleSource();
    await source.open();
    const r = await source.read();
    assert.ok(r.cpu && r.cpu.percent >= 0 && r.cpu.percent <= 100);
    assert.ok(r.memory && r.memory.percent > 0 && r.memory.percent < 100);
    assert.ok((r.disks?.length ?? 0) > 0);
  });

  it('lists processes (for alerts) and the static inventory', async () => {
    const list = await systemInformationProcesses();
    assert.ok(
      list.some((p) => p.pid === process.pid),
      'this test process is listed',
    );
    const monitor = new ResourceMonitor({ rules: [], hostname: 'me' });
    const inventory = await monitor.inventory();
    assert.equal(inventory.hostname, 'me');
    assert.equal(inventory.os.platform, process.platform);
    assert.ok(inventory.cpu.cores >= 1 && inventory.memory.totalBytes > 0);
    assert.equal(await monitor.inventory(), inventory, 'cached');
    await monitor.stop();
  });
});
