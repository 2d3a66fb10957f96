// One clock (issue #13): every class that raises alerts stamps them from its injected
// `clock`, never from the wall clock. The fake time is years away from today, so an alert
// stamped by Date.now()/systemClock() cannot pass by accident.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAlert, type Alert } from '../../src/core/alert.js';
import { BanManager } from '../../src/response/ban-manager.js';
import { MemoryBackend } from '../../src/response/memory-backend.js';
import { FileScanner, ResourceMonitor } from '../../src/index.js';
import { reading, ScriptedSource } from '../resource/helpers.js';

const FAKE_NOW = Date.UTC(2003, 6, 1, 12, 0, 0);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-alert-clock-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("alerts carry the time of the component's injected clock", () => {
  it('FileScanner: a finding alert is stamped when the fake clock says the file was found', async () => {
    const root = join(dir, 'home');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(root);
    await writeFile(join(root, 'invoice.pdf.exe'), 'MZ not really\n');
    const scanner = new FileScanner({ roots: [root], clock: () => FAKE_NOW });
    const alerts: Alert[] = [];
    scanner.on('alert', (a) => alerts.push(a));
    await scanner.scan();
    assert.ok(alerts.length >= 1, 'the .exe is found');
    for (const alert of alerts) assert.equal(alert.time.toISOString(), new Date(FAKE_NOW).toISOString());
  });

  it('ResourceMonitor: firing and resolved alerts are stamped with the sample time of the fake clock', async () => {
    let now = FAKE_NOW;
    const source = new ScriptedSource();
    const monitor = new ResourceMonitor({
      source,
      clock: () => now,
      interval: 60_000,
      rules: [{ id: 'memory.high', metric: 'memory', above: 90, clearBelow: 80, severity: 'warning' }],
    });
    const alerts: Alert[] = [];
    monitor.on('alert', (a) => alerts.push(a));
    await monitor.start();
    try {
      source.reading = reading({ memory: 95 });
      await monitor.sample();
      now += 60_000;
      source.reading = reading({ memory: 50 });
      await monitor.sample();
    } finally {
      await monitor.stop();
    }
    assert.deepEqual(
      alerts.map((a) => [a.status, a.time.getTime()]),
      [
        ['firing', FAKE_NOW],
        ['resolved', FAKE_NOW + 60_000],
      ],
    );
  });

  it('BanManager: the ban alert is stamped with the fake clock at the moment of the ban', async () => {
    const clock = (): number => FAKE_NOW;
    const manager = new BanManager({ backend: new MemoryBackend({ clock }), stateFile: join(dir, 'bans.jsonl'), clock, ignoreSshSession: false });
    const alerts: Alert[] = [];
    manager.on('alert', (a) => alerts.push(a));
    await manager.start();
    try {
      // The incoming alert's own time is the real one: the ban happens now by the manager's clock.
      const attack = createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: 'SSH brute force', labels: { host: '203.0.113.5' } });
      assert.ok(await manager.handleAlert(attack));
    } finally {
      await manager.stop();
    }
    assert.deepEqual(
      alerts.map((a) => [a.rule, a.time.getTime()]),
      [['ban.added', FAKE_NOW]],
    );
  });
});
