import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import {
  InvalidOptionError,
  IoError,
  ResourceMonitor,
  defaultResourceRules,
  type Alert,
  type ProcessInfo,
  type ResourceMonitorOptions,
  type ResourceSample,
  type Health,
  type Warning,
} from '../../src/index.js';
import { resolveMonitorOptions } from '../../src/resource/options.js';
import { reading, ScriptedSource, settle } from './helpers.js';

const INTERVAL = 10_000;

/** A monitor on fake timers: `step(values)` advances one interval and lets the sample finish. */
async function harness(options: Omit<ResourceMonitorOptions, 'source'>) {
  const source = new ScriptedSource();
  const alerts: Alert[] = [];
  const samples: ResourceSample[] = [];
  const errors: Error[] = [];
  const warnings: Warning[] = [];
  const health: Health[] = [];
  const monitor = new ResourceMonitor({ interval: INTERVAL, hostname: 'web-1', topProcesses: 0, ...options, source });
  monitor.on('warning', (w) => warnings.push(w));
  monitor.on('health', (h) => health.push(h));
  monitor.on('alert', (a) => alerts.push(a));
  monitor.on('sample', (s) => samples.push(s));
  monitor.on('error', (e) => errors.push(e));
  await monitor.start();
  const step = async (values: Parameters<typeof reading>[0]): Promise<void> => {
    source.reading = reading(values);
    mock.timers.tick(INTERVAL);
    await settle();
  };
  return { monitor, source, alerts, samples, errors, warnings, health, step };
}

const summary = (alerts: readonly Alert[]) => alerts.map((a) => `${a.status} ${a.rule}${a.labels['mount'] ? ` ${a.labels['mount']}` : ''}`);

describe('ResourceMonitor rules (injected source, fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_700_000_000_000 }));
  afterEach(() => mock.timers.reset());

  it('samples on the interval and stamps time, hostname and scope', async () => {
    const { monitor, source, samples, step } = await harness({ rules: [] });
    assert.equal(source.opened, 1);
    await step({ cpu: 12, memory: 40 });
    await step({ cpu: 14, memory: 41 });
    assert.equal(samples.length, 2);
    assert.equal(samples[0]?.time.getTime(), 1_700_000_000_000 + INTERVAL);
    assert.equal(samples[1]?.time.getTime(), 1_700_000_000_000 + 2 * INTERVAL);
    assert.equal(samples[1]?.hostname, 'web-1');
    assert.equal(samples[1]?.source, 'scripted');
    assert.equal(samples[1]?.scope, 'host');
    assert.equal(samples[1]?.cpu?.percent, 14);
    await monitor.stop();
    assert.equal(source.closed, 1);
    mock.timers.tick(INTERVAL * 3);
    await settle();
    assert.equal(samples.length, 2, 'no sample after stop');
  });

  it('fires only after the condition held for `for`, and a dip starts the wait again', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'cpu', above: 80, for: 30_000, clearBelow: 70 }] });
    await step({ cpu: 90 }); // t=10s: pending since 10s
    await step({ cpu: 95 }); // 20s
    await step({ cpu: 79 }); // 30s: dip resets
    await step({ cpu: 91 }); // 40s: pending again
    await step({ cpu: 92 }); // 50s
    await step({ cpu: 93 }); // 60s
    assert.equal(alerts.length, 0, 'held only 20 s so far');
    await step({ cpu: 94 }); // 70s: held 30 s
    assert.deepEqual(summary(alerts), ['firing cpu.high']);
    const [firing] = alerts;
    assert.equal(firing?.key, 'resource:cpu.high:web-1');
    assert.equal(firing?.source, 'resource');
    assert.equal(firing?.severity, 'warning');
    assert.equal(firing?.hostname, 'web-1');
    assert.equal(firing?.time.getTime(), 1_700_000_000_000 + 70_000);
    assert.match(firing?.title ?? '', /CPU at 94\.0 % \(above 80\.0 % for 30s\)/);
    assert.match(firing?.summary ?? '', /peak 94\.0 %/);
    assert.deepEqual(firing?.labels, { metric: 'cpu', scope: 'host' });
    assert.deepEqual(
      monitor.firing().map((a) => a.id),
      [firing?.id],
    );
    await monitor.stop();
  });

  it('resolves only below clearBelow (hysteresis) and emits a resolved alert with the same key', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'memory', above: 90, clearBelow: 80, severity: 'critical' }] });
    await step({ memory: 95 });
    assert.deepEqual(summary(alerts), ['firing memory.high']);
    await step({ memory: 85 }); // below `above` but not below `clearBelow`
    await step({ memory: 80 }); // not strictly below
    assert.equal(alerts.length, 1);
    await step({ memory: 79.9 });
    assert.deepEqual(summary(alerts), ['firing memory.high', 'resolved memory.high']);
    const [firing, resolved] = alerts;
    assert.equal(resolved?.key, firing?.key);
    assert.notEqual(resolved?.id, firing?.id);
    assert.equal(resolved?.severity, 'critical');
    assert.match(resolved?.title ?? '', /Memory back to 79\.9 % \(below 80\.0 %\)/);
    assert.match(resolved?.summary ?? '', /Peak 95\.0 %; the condition lasted 30s/);
    assert.deepEqual(monitor.firing(), []);
    await monitor.stop();
  });

  it('does not flap when a value hovers around the threshold', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'cpu', above: 80, for: 20_000, clearBelow: 70 }] });
    // Hovering without holding: never fires.
    for (const v of [81, 79, 82, 78, 83, 77, 81, 79]) await step({ cpu: v });
    assert.equal(alerts.length, 0);
    // Held: fires once; then hovering 72–88 never resolves and never re-fires.
    for (const v of [85, 86, 87]) await step({ cpu: v });
    for (const v of [79, 81, 72, 88, 75, 84, 71, 90]) await step({ cpu: v });
    assert.deepEqual(summary(alerts), ['firing cpu.high']);
    await step({ cpu: 50 });
    assert.deepEqual(summary(alerts), ['firing cpu.high', 'resolved cpu.high']);
    await monitor.stop();
  });

  it('waits clearFor below clearBelow before resolving', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'cpu', above: 80, clearBelow: 70, clearFor: 20_000 }] });
    await step({ cpu: 90 });
    await step({ cpu: 60 }); // clear since t
    await step({ cpu: 75 }); // back above clearBelow: resets
    await step({ cpu: 60 });
    await step({ cpu: 60 });
    assert.equal(alerts.length, 1);
    await step({ cpu: 60 }); // 20 s below
    assert.deepEqual(summary(alerts), ['firing cpu.high', 'resolved cpu.high']);
    await monitor.stop();
  });

  it('reminds every remindEvery while firing, then resolves once', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'swap', above: 50, clearBelow: 40, remindEvery: 30_000 }] });
    for (let i = 0; i < 7; i++) await step({ swap: 60 + i }); // t = 10..70 s
    assert.deepEqual(summary(alerts), ['firing swap.high', 'firing swap.high', 'firing swap.high']);
    assert.deepEqual(
      alerts.map((a) => a.time.getTime() - 1_700_000_000_000),
      [10_000, 40_000, 70_000],
    );
    assert.match(alerts[1]?.summary ?? '', /Reminder: still firing/);
    assert.equal(new Set(alerts.map((a) => a.key)).size, 1);
    assert.equal(new Set(alerts.map((a) => a.id)).size, 3);
    await step({ swap: 10 });
    await step({ swap: 10 });
    assert.deepEqual(summary(alerts).slice(3), ['resolved swap.high']);
    await monitor.stop();
  });

  it('tracks disk rules per mount, with keys per mount and mount filters', async () => {
    const { monitor, alerts, step } = await harness({
      rules: [
        { metric: 'disk.space', above: 90, clearBelow: 85 },
        { id: 'data.inodes', metric: 'disk.inodes', above: 50, mount: '/data/**', severity: 'critical' },
      ],
    });
    await step({ disks: { '/': 95, '/data/pg': [50, 60], '/var': 20 } });
    assert.deepEqual(summary(alerts), ['firing disk.space /', 'firing data.inodes /data/pg']);
    assert.equal(alerts[0]?.key, 'resource:disk.space:/');
    assert.equal(alerts[1]?.key, 'resource:data.inodes:/data/pg');
    assert.deepEqual(alerts[0]?.labels, { metric: 'disk.space', scope: 'host', mount: '/', fsType: 'ext4', device: '/dev/root' });
    assert.match(alerts[0]?.title ?? '', /Disk space on \/ at 95\.0 %/);
    await step({ disks: { '/': 95, '/data/pg': [50, 10], '/var': 93 } });
    // Rules are evaluated in their order.
    assert.deepEqual(summary(alerts).slice(2), ['firing disk.space /var', 'resolved data.inodes /data/pg']);
    await monitor.stop();
  });

  it('keeps hostile mount names on one printable line in alert text, exact in labels', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'disk.space', above: 90 }] });
    await step({ disks: { '/home/eve/x\nCRITICAL: fake line': 95 } });
    assert.equal(alerts.length, 1);
    assert.doesNotMatch(alerts[0]?.title ?? '', /\n/);
    assert.match(alerts[0]?.title ?? '', /Disk space on \/home\/eve\/x\\nCRITICAL: fake line at 95\.0 %/);
    assert.equal(alerts[0]?.summary.split('\n').length, 2);
    assert.equal(alerts[0]?.labels['mount'], '/home/eve/x\nCRITICAL: fake line');
    // Bidi overrides and zero-width characters used to pass into alert text.
    await step({ disks: { '/home/eve/x\nCRITICAL: fake line': 95, '/mnt/\u202egpj.exe\u200b': 97 } });
    const bidi = alerts.find((a) => a.labels['mount'] === '/mnt/\u202egpj.exe\u200b');
    assert.match(bidi?.title ?? '', /Disk space on \/mnt\/\\u202egpj\.exe\\u200b at 97\.0 %/);
    await monitor.stop();
  });

  it('keeps a firing alert through a transient miss and resolves it when the mount stays gone', async () => {
    const { monitor, alerts, step } = await harness({ rules: [{ metric: 'disk.space', above: 90 }] });
    await step({ disks: { '/mnt/usb': 97 } });
    await step({ disks: {} });
    await step({ disks: { '/mnt/usb': 97 } });
    assert.deepEqual(summary(alerts), ['firing disk.space /mnt/usb']);
    await step({ disks: {} });
    await step({ disks: {} });
    assert.equal(alerts.length, 1);
    await step({ disks: {} });
    assert.deepEqual(summary(alerts), ['firing disk.space /mnt/usb', 'resolved disk.space /mnt/usb']);
    assert.match(alerts[1]?.title ?? '', /no longer measured/);
    await monitor.stop();
  });

  it('names the top processes in a firing CPU or memory alert, gathered only when it fires', async () => {
    let calls = 0;
    const list: ProcessInfo[] = [
      { pid: 10, name: 'node', cpuPercent: 5, memoryBytes: 900e6, memoryPercent: 11 },
      { pid: 20, name: 'ffmpeg\n[fake] line', cpuPercent: 180, memoryBytes: 200e6, memoryPercent: 2.5 },
      { pid: 30, name: 'postgres', cpuPercent: 40, memoryBytes: 2e9, memoryPercent: 25 },
    ];
    const { monitor, alerts, step } = await harness({
      topProcesses: 2,
      processes: async () => {
        calls++;
        return list;
      },
      rules: [
        { metric: 'cpu', above: 80 },
        { metric: 'memory', above: 90 },
        { metric: 'disk.space', above: 90 },
      ],
    });
    await step({ cpu: 10, memory: 10, disks: { '/': 95 } });
    assert.equal(calls, 0, 'a disk alert lists no processes');
    await step({ cpu: 99, memory: 95, disks: { '/': 95 } });
    assert.equal(calls, 1, 'one listing serves every alert of the sample');
    const cpu = alerts.find((a) => a.rule === 'cpu.high');
    const memory = alerts.find((a) => a.rule === 'memory.high');
    assert.match(cpu?.summary ?? '', /Top processes by CPU:\n {2}pid 20 ffmpeg\\n\[fake\] line: CPU 180\.0 %.*\n {2}pid 30 postgres/);
    assert.equal(cpu?.evidence?.length, 2);
    assert.match(memory?.summary ?? '', /Top processes by memory:\n {2}pid 30 postgres: CPU 40\.0 %, memory 1\.9 GiB \(25\.0 %\)\n {2}pid 10 node/);
    await step({ cpu: 99, memory: 95, disks: { '/': 95 } });
    assert.equal(calls, 1, 'nothing new fired');
    await monitor.stop();
  });

  it('sends the alert without processes (and reports an error) when listing fails', async () => {
    const { monitor, alerts, errors, step } = await harness({
      processes: async () => {
        throw new Error('ps is gone');
      },
      rules: [{ metric: 'cpu', above: 80 }],
      topProcesses: 3,
    });
    await step({ cpu: 99 });
    assert.equal(alerts.length, 1);
    assert.doesNotMatch(alerts[0]?.summary ?? '', /Top processes/);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /top processes/);
    await monitor.stop();
  });

  it('turns a failing source into error events and keeps sampling', async () => {
    const { monitor, source, errors, samples, step } = await harness({ rules: [] });
    source.fail = new Error('EIO');
    await step({ cpu: 1 });
    await step({ cpu: 1 });
    assert.equal(errors.length, 1, 'the same failure is reported once per streak');
    assert.equal(errors[0]?.name, 'IoError');
    assert.equal((errors[0]?.cause as Error).message, 'EIO');
    source.fail = undefined;
    await step({ cpu: 3 });
    assert.equal(samples.length, 1);
    source.fail = new Error('EIO');
    await step({ cpu: 1 });
    assert.equal(errors.length, 2, 'reported again after a good sample');
    await monitor.stop();
  });

  it("reports partial failures as one 'warning' per streak and still uses the rest of the reading", async () => {
    const { monitor, source, errors, warnings, samples, step } = await harness({ rules: [] });
    const vanished = new IoError('Cannot statfs mount /mnt/gone', { path: '/mnt/gone', syscall: 'statfs' });
    for (let i = 0; i < 3; i++) {
      source.reading = { ...reading({ cpu: 5 }), errors: [vanished] };
      mock.timers.tick(INTERVAL);
      await settle();
    }
    assert.equal(samples.length, 3);
    assert.equal(errors.length, 0, "a partial failure is a 'warning', not an 'error'");
    assert.equal(warnings.length, 1, 'the same failure is not repeated every sample');
    assert.deepEqual(
      { code: warnings[0]?.code, path: warnings[0]?.path, displayPath: warnings[0]?.displayPath, message: warnings[0]?.message, cause: warnings[0]?.cause },
      { code: 'sample-partial', path: '/mnt/gone', displayPath: '/mnt/gone', message: 'Cannot statfs mount /mnt/gone', cause: vanished },
    );
    assert.equal(monitor.health().state, 'degraded');
    await step({ cpu: 5 });
    assert.equal(monitor.health().state, 'ok');
    source.reading = { ...reading({ cpu: 5 }), errors: [vanished] };
    mock.timers.tick(INTERVAL);
    await settle();
    assert.equal(warnings.length, 2, 'reported again after it had stopped');
    await monitor.stop();
  });

  it('health(): ok while samples arrive, degraded when the source fails or samples stop, stopped after stop()', async () => {
    const { monitor, source, health, step } = await harness({ rules: [] });
    await step({ cpu: 5 });
    assert.equal(monitor.health().state, 'ok');
    assert.deepEqual(
      monitor.health().checks.map((c) => [c.name, c.ok]),
      [
        ['source', true],
        ['sample-age', true],
      ],
    );
    source.fail = new Error('EIO');
    await step({ cpu: 5 });
    const failing = monitor.health();
    assert.equal(failing.state, 'degraded');
    assert.match(failing.checks.find((c) => c.name === 'source')?.message ?? '', /failed/);
    source.fail = undefined;
    await step({ cpu: 5 });
    assert.equal(monitor.health().state, 'ok');
    // A sample that never finishes: nothing throws, but the samples stop arriving.
    source.hang = true;
    for (let i = 0; i < 4; i++) mock.timers.tick(INTERVAL);
    await settle();
    const stale = monitor.health();
    assert.equal(stale.state, 'degraded');
    assert.match(stale.checks.find((c) => c.name === 'sample-age')?.message ?? '', /last sample 40s ago/);
    source.hang = false;
    source.release?.();
    await settle();
    await monitor.stop();
    assert.deepEqual(
      health.map((h) => h.state),
      ['ok', 'degraded', 'ok', 'degraded', 'stopped'],
    );
  });

  it('warns once when samples are skipped because the previous one still runs', async () => {
    const { monitor, source, warnings } = await harness({ rules: [] });
    source.hang = true;
    for (let i = 0; i < 5; i++) {
      mock.timers.tick(INTERVAL);
      await settle();
    }
    assert.equal(monitor.skippedSamples, 4);
    assert.deepEqual(
      warnings.map((w) => w.code),
      ['sample-skipped'],
    );
    source.hang = false;
    source.release?.();
    await settle();
    await monitor.stop();
  });

  it('catches a throwing listener as a ListenerError and goes on', async () => {
    const { monitor, errors, samples, step } = await harness({ rules: [] });
    monitor.once('sample', () => {
      throw new Error('bad handler');
    });
    await step({ cpu: 5 });
    await step({ cpu: 5 });
    assert.equal(samples.length, 2);
    assert.equal(errors[0]?.name, 'ListenerError');
    await monitor.stop();
  });

  it('uses the default rules: CPU > 80 % for 2 min, memory > 90 % for 1 min, disk > 90 %', async () => {
    assert.deepEqual(
      defaultResourceRules.map((r) => [r.id, r.metric, r.above, r.for, r.clearBelow]),
      [
        ['cpu.high', 'cpu', 80, 120_000, 70],
        ['memory.high', 'memory', 90, 60_000, 85],
        ['disk.space', 'disk.space', 90, 0, 85],
        ['disk.inodes', 'disk.inodes', 90, 0, 85],
      ],
    );
    const { monitor, alerts, step } = await harness({});
    // First sample above at t = 10 s; the 12th (t = 120 s) has held 110 s.
    for (let i = 0; i < 12; i++) await step({ cpu: 85, memory: 50, disks: { '/': 50 } });
    assert.deepEqual(summary(alerts), []);
    await step({ cpu: 85, memory: 95, disks: { '/': 91 } }); // t = 130 s: 120 s of CPU above 80; memory only just began
    assert.deepEqual(summary(alerts), ['firing cpu.high', 'firing disk.space /']);
    await monitor.stop();
  });
});

describe('ResourceMonitor options', () => {
  it('rejects invalid options, naming the option and the value', () => {
    const cases: [ResourceMonitorOptions, string, RegExp][] = [
      [{ interval: 5 }, 'interval', /`interval` to be a duration from 100ms to 24d20h31m24s, got 5/],
      [{ interval: '25d' }, 'interval', /about 24\.8 days\), got "25d"/],
      [{ now: () => 0 } as ResourceMonitorOptions, 'now', /Unknown option `now` of ResourceMonitor \(did you mean `clock`\?\)/],
      [{ intervall: 5000 } as ResourceMonitorOptions, 'intervall', /did you mean `interval`/],
      [{ mounts: { exlude: ['/boot'] } } as ResourceMonitorOptions, 'exlude', /did you mean `exclude`/],
      [{ clock: () => new Date() } as unknown as ResourceMonitorOptions, 'clock', /returned a Date/],
      [{ scope: 'pod' as 'host' }, 'scope', /one of 'auto', 'host', 'cgroup'/],
      [{ rules: [{ metric: 'gpu' as 'cpu', above: 1 }] }, 'rules[0].metric', /got "gpu"/],
      [{ rules: [{ metric: 'cpu', above: 80, clearBelow: 90 }] }, 'rules[0].clearBelow', /<= 80, got 90/],
      [{ rules: [{ metric: 'cpu', above: 80, mount: '/' }] }, 'rules[0].mount', /has no mounts/],
      [
        {
          rules: [
            { metric: 'cpu', above: 80 },
            { metric: 'cpu', above: 95 },
          ],
        },
        'rules[1].id',
        /not used by another rule/,
      ],
      [{ rules: [{ metric: 'cpu', above: 80, for: -1 }] }, 'rules[0].for', />= 0/],
      [{ anomaly: { zScore: -1 } }, 'anomaly.zScore', />= 0/],
      [{ anomaly: { metrics: ['nope' as 'cpu'] } }, 'anomaly.metrics[0]', /got "nope"/],
      [{ source: { read: 'x' } as never }, 'source', /`name` and `read\(\)`/],
      [{ mounts: { include: [''] } }, 'mounts.include[0]', /non-empty string/],
      [{ topProcesses: 1.5 }, 'topProcesses', /integer/],
    ];
    for (const [options, option, message] of cases) {
      assert.throws(
        () => new ResourceMonitor(options),
        (error: unknown) => error instanceof InvalidOptionError && error.option === option && message.test(error.message),
        option,
      );
    }
  });

  it('accepts two rules on one metric with distinct ids', () => {
    assert.doesNotThrow(
      () =>
        new ResourceMonitor({
          rules: [
            { metric: 'cpu', above: 80 },
            { id: 'cpu.critical', metric: 'cpu', above: 95, severity: 'critical' },
          ],
        }),
    );
  });

  it('closes the source on stop() even when it only sampled, never started', async () => {
    const source = new ScriptedSource();
    const monitor = new ResourceMonitor({ source, rules: [] });
    await monitor.sample();
    assert.equal(source.opened, 1);
    await monitor.stop();
    await settle();
    assert.equal(source.closed, 1);
  });

  it('refuses to sample after stop', async () => {
    const monitor = new ResourceMonitor({ source: new ScriptedSource(), rules: [] });
    await monitor.stop();
    await assert.rejects(monitor.sample(), { name: 'StateError' });
  });

  it('skips a tick while the previous sample is still running', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    try {
      let release: () => void = () => {};
      const source = new ScriptedSource();
      source.read = () => {
        source.reads++;
        return new Promise((resolve) => (release = () => resolve(reading({ cpu: 1 }))));
      };
      const monitor = new ResourceMonitor({ source, interval: 1000, rules: [] });
      await monitor.start();
      mock.timers.tick(1000);
      await settle();
      mock.timers.tick(1000);
      mock.timers.tick(1000);
      await settle();
      assert.equal(source.reads, 1);
      assert.equal(monitor.skippedSamples, 2);
      release();
      await settle();
      mock.timers.tick(1000);
      await settle();
      assert.equal(source.reads, 2);
      release();
      await monitor.stop();
    } finally {
      mock.timers.reset();
    }
  });

  it('picks the procfs sampler on Linux and systeminformation elsewhere', () => {
    assert.equal(resolveMonitorOptions({}, 'linux').source, 'procfs');
    assert.equal(resolveMonitorOptions({}, 'darwin').source, 'systeminformation');
    assert.equal(resolveMonitorOptions({ source: 'systeminformation' }, 'linux').source, 'systeminformation');
    assert.ok(Object.isFrozen(resolveMonitorOptions({}, 'linux')));
  });

  it('stops by itself when its signal aborts, closing the source (nobody calls stop())', async () => {
    const controller = new AbortController();
    const source = new ScriptedSource();
    const monitor = new ResourceMonitor({ source, rules: [], signal: controller.signal });
    await monitor.start();
    // Readiness signal: the 'health' event with state 'stopped'. If the abort did nothing,
    // the loop runs empty (the monitor's timer is unref'ed) and the test fails.
    const stopped = new Promise<void>((resolve) => monitor.on('health', (h) => h.state === 'stopped' && resolve()));
    controller.abort();
    await stopped;
    assert.equal(monitor.state, 'stopped');
    assert.equal(source.closed, 1);
    await assert.rejects(monitor.sample(), /stopped/);
  });

  it("falls back to host numbers (with one warning) when scope is 'cgroup' but there is none", async () => {
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => warnings.push(m), error() {} };
    const source = new ScriptedSource();
    source.reading = reading({ cpu: 10, memory: 20 });
    const monitor = new ResourceMonitor({ source, rules: [], scope: 'cgroup', logger });
    assert.equal((await monitor.sample()).scope, 'host');
    await monitor.sample();
    assert.equal(warnings.length, 1);
    await monitor.stop();
  });
});
