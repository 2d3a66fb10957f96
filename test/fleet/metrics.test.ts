import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { createAlert, resolveAlert } from '../../src/core/alert.js';
import { InvalidOptionError } from '../../src/core/errors.js';
import { HostwardenMetrics, createMetrics } from '../../src/index.js';
import { runScript } from '../helpers/run-script.js';
import { FakeFileScanner, FakeLogWatcher, FakeNotifier, FakeResourceMonitor, sample, type MatchLike } from './fixtures/components.js';

/** The series of one metric, as `labels -> value`. */
async function series(registry: Registry, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const got = await metric.get();
  return got.values.map((v) => ({ labels: { ...v.labels } as Record<string, string | number>, value: v.value }));
}

/** The value of the one series of `name` whose labels include `labels`, or undefined. */
async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const matching = (await series(registry, name)).filter((s) => Object.entries(labels).every(([k, v]) => String(s.labels[k]) === v));
  assert.ok(matching.length <= 1, `at most one series of ${name} matches ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}

function match(rule: string): MatchLike {
  return { rule: { id: rule }, line: 'Failed password for root from 203.0.113.5', file: '/var/log/auth.log', lineNumber: 1, time: new Date(), fields: {} };
}

const brute = createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: 'SSH brute force' });

describe('HostwardenMetrics', () => {
  it('counts LogWatcher matches per rule, alerts, rotations and warnings, and reads its stats at scrape time', async () => {
    const registry = new Registry();
    const watcher = new FakeLogWatcher();
    const metrics = new HostwardenMetrics({ registry }).observe(watcher);
    watcher.emit('match', match('sshd.auth-failure'));
    watcher.emit('match', match('sshd.auth-failure'));
    watcher.emit('match', match('sudo.auth-failure'));
    watcher.emit('alert', brute);
    watcher.emit('alert', resolveAlert(brute));
    watcher.emit('rotate', { file: '/var/log/auth.log', reason: 'rename', whileStopped: false });
    watcher.emit('warning', { code: 'line-truncated', path: '/var/log/auth.log', message: 'cut' });

    assert.equal(await value(registry, 'hostwarden_log_matches_total', { rule: 'sshd.auth-failure' }), 2);
    assert.equal(await value(registry, 'hostwarden_log_matches_total', { rule: 'sudo.auth-failure' }), 1);
    assert.equal(await value(registry, 'hostwarden_alerts_total', { rule: 'sshd.brute-force', status: 'firing', severity: 'critical', source: 'log' }), 1);
    assert.equal(await value(registry, 'hostwarden_alerts_total', { rule: 'sshd.brute-force', status: 'resolved' }), 1);
    assert.equal(await value(registry, 'hostwarden_log_rotations_total', { component: 'FakeLogWatcher', reason: 'rename' }), 1);
    assert.equal(await value(registry, 'hostwarden_warnings_total', { component: 'FakeLogWatcher', code: 'line-truncated' }), 1);

    watcher.statsValue = { linesRead: 120, bytesRead: 9_000, matches: 3, filesFollowed: 2 };
    assert.equal(await value(registry, 'hostwarden_log_lines_read_total', { component: 'FakeLogWatcher' }), 120);
    assert.equal(await value(registry, 'hostwarden_log_bytes_read_total'), 9_000);
    assert.equal(await value(registry, 'hostwarden_log_files_followed'), 2);
    watcher.statsValue = { linesRead: 150, bytesRead: 9_500, matches: 3, filesFollowed: 1 };
    assert.equal(await value(registry, 'hostwarden_log_lines_read_total'), 150);
    assert.equal(await value(registry, 'hostwarden_log_files_followed'), 1);
    metrics.close();
  });

  it('keeps two named LogWatchers apart', async () => {
    const registry = new Registry();
    const auth = new FakeLogWatcher();
    const nginx = new FakeLogWatcher();
    auth.statsValue.linesRead = 5;
    nginx.statsValue.linesRead = 7;
    const metrics = createMetrics({ registry }, { component: auth, name: 'auth' }, { component: nginx, name: 'nginx' });
    assert.equal(await value(registry, 'hostwarden_log_lines_read_total', { component: 'auth' }), 5);
    assert.equal(await value(registry, 'hostwarden_log_lines_read_total', { component: 'nginx' }), 7);
    metrics.unobserve(nginx);
    assert.equal(await value(registry, 'hostwarden_log_lines_read_total', { component: 'nginx' }), undefined);
    metrics.close();
  });

  it('shows the latest resource sample as gauges, with no made-up zeros', async () => {
    const registry = new Registry();
    const monitor = new FakeResourceMonitor();
    const metrics = new HostwardenMetrics({ registry }).observe(monitor);
    // Before any sample: no value at all.
    assert.equal(await value(registry, 'hostwarden_resource_cpu_percent'), undefined);
    assert.equal(await value(registry, 'hostwarden_resource_sample_timestamp_seconds'), undefined);

    monitor.emit('sample', sample());
    assert.equal(await value(registry, 'hostwarden_resource_cpu_percent'), 42.5);
    assert.equal(await value(registry, 'hostwarden_resource_cpu_iowait_percent'), 2);
    assert.equal(await value(registry, 'hostwarden_resource_memory_percent'), 75);
    assert.equal(await value(registry, 'hostwarden_resource_memory_used_bytes'), 6e9);
    assert.equal(await value(registry, 'hostwarden_resource_swap_percent'), 0);
    assert.equal(await value(registry, 'hostwarden_resource_load_per_core', { window: '1m' }), 0.5);
    assert.equal(await value(registry, 'hostwarden_resource_load_per_core', { window: '15m' }), 0.125);
    assert.equal(await value(registry, 'hostwarden_resource_disk_used_percent', { mount: '/', fstype: 'ext4' }), 91);
    assert.equal(await value(registry, 'hostwarden_resource_disk_used_percent', { mount: '/data' }), 50);
    assert.equal(await value(registry, 'hostwarden_resource_disk_inodes_used_percent', { mount: '/' }), 10);
    assert.equal(await value(registry, 'hostwarden_resource_disk_inodes_used_percent', { mount: '/data' }), undefined);
    assert.equal(await value(registry, 'hostwarden_resource_cgroup_memory_percent'), undefined);
    assert.equal(await value(registry, 'hostwarden_resource_sample_timestamp_seconds'), Date.parse('2026-03-01T12:00:00.000Z') / 1000);

    // The next sample: no CPU window yet, /data unmounted, inside a limited cgroup.
    monitor.emit(
      'sample',
      sample({
        cpu: null,
        disks: [{ mount: '/', fsType: 'ext4', sizeBytes: 1e11, usedBytes: 9.2e10, availBytes: 8e9, usedPercent: 92, inodesTotal: 1000, inodesUsed: 100, inodesUsedPercent: 10 }],
        cgroup: { version: 2, path: '/app', memory: { limitBytes: 1e9, usageBytes: 6e8, workingSetBytes: 5e8, percent: 50 }, cpu: null },
      }),
    );
    assert.equal(await value(registry, 'hostwarden_resource_cpu_percent'), undefined);
    assert.equal(await value(registry, 'hostwarden_resource_disk_used_percent', { mount: '/' }), 92);
    assert.equal(await value(registry, 'hostwarden_resource_disk_used_percent', { mount: '/data' }), undefined);
    assert.equal(await value(registry, 'hostwarden_resource_cgroup_memory_percent'), 50);
    assert.equal(await value(registry, 'hostwarden_resource_cgroup_memory_limit_bytes'), 1e9);
    assert.equal(await value(registry, 'hostwarden_resource_cgroup_cpu_percent'), undefined);
    metrics.close();
  });

  it('turns FileScanner progress (per scan) into running totals, and counts findings and quarantined files', async () => {
    const registry = new Registry();
    const scanner = new FakeFileScanner();
    const metrics = new HostwardenMetrics({ registry }).observe(scanner);
    const progress = (filesScanned: number, bytesScanned: number, bytesHashed: number) =>
      scanner.emit('progress', { filesScanned, bytesScanned, bytesHashed, findings: 0, skipped: 0, cached: 0 });
    progress(10, 1_000, 100);
    progress(25, 2_500, 300); // the final progress of scan 1
    progress(5, 400, 50); // scan 2 starts again from zero
    progress(8, 800, 50);
    assert.equal(await value(registry, 'hostwarden_files_scanned_total'), 33);
    assert.equal(await value(registry, 'hostwarden_bytes_scanned_total'), 3_300);
    assert.equal(await value(registry, 'hostwarden_bytes_hashed_total'), 350);

    scanner.emit('finding', { path: '/home/a/x.exe', detector: 'extension', rule: 'file.extension', severity: 'warning', reason: '.exe', size: 10, labels: {} });
    scanner.emit('finding', { path: '/home/a/y', detector: 'hash', rule: 'file.hash-match', severity: 'critical', reason: 'EICAR', size: 68, labels: {} });
    scanner.emit('warning', { path: '/root', code: 'unreadable', message: 'EACCES' });
    scanner.emit('quarantined', { finding: {}, record: { id: 'q1', size: 68 } });
    assert.equal(await value(registry, 'hostwarden_scan_findings_total', { detector: 'hash', rule: 'file.hash-match', severity: 'critical' }), 1);
    assert.equal(await value(registry, 'hostwarden_scan_findings_total', { detector: 'extension' }), 1);
    assert.equal(await value(registry, 'hostwarden_warnings_total', { component: 'FakeFileScanner', code: 'unreadable' }), 1);
    assert.equal(await value(registry, 'hostwarden_quarantined_files_total'), 1);
    assert.equal(await value(registry, 'hostwarden_quarantined_bytes_total'), 68);
    metrics.close();
  });

  it('counts notifications per channel and reads the outbox depth', async () => {
    const registry = new Registry();
    const notifier = new FakeNotifier();
    const metrics = new HostwardenMetrics({ registry }).observe(notifier);
    notifier.emit('sent', { channel: 'slack', attempt: 1 });
    notifier.emit('sent', { channel: 'slack', attempt: 2 });
    notifier.emit('sent', { channel: 'alertmanager', attempt: 1 });
    notifier.emit('failed', { channel: 'email', permanent: true, attempt: 1 });
    notifier.emit('retry', { channel: 'email', attempt: 1, delay: 1000 });
    notifier.emit('suppressed', { alert: brute, reason: 'duplicate' });
    notifier.emit('suppressed', { alert: brute, reason: 'severity', channel: 'slack' });
    notifier.statsValue = { pending: 4, outboxDepth: 3, sent: 3, failed: 1, suppressed: 2 };

    assert.equal(await value(registry, 'hostwarden_notifications_sent_total', { channel: 'slack' }), 2);
    assert.equal(await value(registry, 'hostwarden_notifications_sent_total', { channel: 'alertmanager' }), 1);
    assert.equal(await value(registry, 'hostwarden_notifications_failed_total', { channel: 'email', permanent: 'true' }), 1);
    assert.equal(await value(registry, 'hostwarden_notification_retries_total', { channel: 'email' }), 1);
    assert.equal(await value(registry, 'hostwarden_notifications_suppressed_total', { channel: '*', reason: 'duplicate' }), 1);
    assert.equal(await value(registry, 'hostwarden_notifications_suppressed_total', { channel: 'slack', reason: 'severity' }), 1);
    assert.equal(await value(registry, 'hostwarden_notifier_outbox_depth', { component: 'FakeNotifier' }), 3);
    assert.equal(await value(registry, 'hostwarden_notifier_pending'), 4);
    metrics.close();
  });

  it("records each component's errors without swallowing them", async () => {
    const registry = new Registry();
    const watcher = new FakeLogWatcher();
    let clock = 1_700_000_000_000;
    const metrics = new HostwardenMetrics({ registry, clock: () => clock }).observe(watcher);
    const seen: Error[] = [];
    watcher.on('error', (error) => seen.push(error));
    watcher.emit('error', new Error('EACCES /var/log/auth.log'));
    clock += 5_000;
    watcher.emit('error', new Error('EACCES again'));
    assert.equal(seen.length, 2);
    assert.equal(await value(registry, 'hostwarden_errors_total', { component: 'FakeLogWatcher' }), 2);
    assert.equal(await value(registry, 'hostwarden_last_error_timestamp_seconds', { component: 'FakeLogWatcher' }), 1_700_000_005);

    metrics.close();
    // With nobody but the metrics listening, the error still surfaces as uncaught.
    const result = await runScript(new URL('./fixtures/observed-unlistened-error.ts', import.meta.url));
    assert.equal(result.timedOut, false);
    assert.notEqual(result.code, 0, 'the process must fail');
    assert.match(result.stdout, /emitted/);
    assert.match(result.stdout, /errors counted: 1/);
    assert.match(result.stderr, /IoError: tail failed/);
  });

  it('ignores payloads it does not understand, never throwing into the emitter', async () => {
    const registry = new Registry();
    const emitter = new EventEmitter();
    const metrics = new HostwardenMetrics({ registry }).observe(emitter);
    for (const event of ['match', 'alert', 'sample', 'progress', 'finding', 'warning', 'quarantined', 'sent', 'failed', 'suppressed', 'retry', 'rotate']) {
      for (const payload of [undefined, null, 42, 'text', {}, { rule: 7, disks: 'x', cpu: { percent: 'NaN' } }]) {
        assert.doesNotThrow(() => emitter.emit(event, payload), event);
      }
    }
    assert.equal(await value(registry, 'hostwarden_log_matches_total', { rule: 'unknown' }), 6);
    assert.equal(await value(registry, 'hostwarden_resource_cpu_percent'), undefined);
    await registry.metrics();
    metrics.close();
  });

  it('survives a stats getter that throws', async () => {
    const registry = new Registry();
    const broken = Object.assign(new EventEmitter(), {});
    Object.defineProperty(broken, 'stats', {
      get() {
        throw new Error('boom');
      },
    });
    const metrics = new HostwardenMetrics({ registry }).observe(broken, new FakeLogWatcher());
    assert.match(await registry.metrics(), /hostwarden_log_lines_read_total\{component="FakeLogWatcher"\} 0/);
    metrics.close();
  });

  it('detaches and unregisters on close(), and the registry can be used again', async () => {
    const registry = new Registry();
    const watcher = new FakeLogWatcher();
    const metrics = new HostwardenMetrics({ registry }).observe(watcher, watcher);
    assert.equal(watcher.listenerCount('match'), 1, 'observing twice is a no-op');
    metrics.close();
    metrics.close();
    assert.equal(watcher.listenerCount('match'), 0);
    assert.equal(watcher.listenerCount('error'), 0);
    assert.equal(registry.getMetricsAsArray().length, 0);
    assert.throws(() => metrics.observe(watcher), InvalidOptionError);
    {
      using again = new HostwardenMetrics({ registry }).observe(watcher);
      assert.ok(again.registry === registry, 'same registry');
      assert.equal(watcher.listenerCount('match'), 1);
    }
    assert.equal(watcher.listenerCount('match'), 0);
  });

  it('refuses a registry that already has its metrics, and bad options', () => {
    const registry = new Registry();
    const first = new HostwardenMetrics({ registry });
    assert.throws(
      () => new HostwardenMetrics({ registry }),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'registry',
    );
    // The failed attempt must not have removed the first one's metrics.
    assert.ok(registry.getSingleMetric('hostwarden_alerts_total'), 'first metrics intact');
    const other = new HostwardenMetrics({ registry, prefix: 'fleet_' });
    assert.ok(registry.getSingleMetric('fleet_alerts_total'), 'prefixed metrics');
    assert.throws(
      () => new HostwardenMetrics({ prefix: 'bad-prefix' }),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'prefix',
    );
    assert.throws(() => new HostwardenMetrics({ registry: {} as Registry }), InvalidOptionError);
    assert.throws(() => new HostwardenMetrics({ now: () => 0 } as never), /Unknown option `now` of HostwardenMetrics \(did you mean `clock`\?\)/);
    assert.throws(() => new HostwardenMetrics().observe({} as EventEmitter), InvalidOptionError);
    first.close();
    other.close();
    assert.ok(new HostwardenMetrics().registry instanceof Registry, 'a new registry by default');
  });

  it('registers exactly the metrics docs/fleet.md lists', async () => {
    const metrics = new HostwardenMetrics();
    const registered = metrics.registry
      .getMetricsAsArray()
      .map((m) => m.name)
      .sort();
    const docs = await readFile(new URL('../../docs/fleet.md', import.meta.url), 'utf8');
    const documented = [...new Set([...docs.matchAll(/^\| `(hostwarden_[a-z_]+)`/gm)].map((m) => m[1] ?? ''))].sort();
    assert.deepEqual(documented, registered);
    metrics.close();
  });
});
