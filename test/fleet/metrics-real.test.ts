// HostwardenMetrics observing the real components (not stand-ins named like them): a
// LogWatcher following a real file, a ResourceMonitor with an injected sample source, a
// FileScanner walking a temp dir, and a Notifier delivering to a webhook on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FileScanner, HostwardenMetrics, LogWatcher, Notifier, ResourceMonitor, WebhookChannel, authRules, createAlert } from '../../src/index.js';
import { reading, ScriptedSource } from '../resource/helpers.js';

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const got = await metric.get();
  const matching = got.values.filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want));
  assert.ok(matching.length <= 1, `at most one series of ${name} matches ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}

/** Resolves once `emitter` emits `event` with a payload that passes `test`. */
function next<T>(
  emitter: { on(event: string, listener: (payload: T) => void): unknown; off(event: string, listener: (payload: T) => void): unknown },
  event: string,
  test: (payload: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve) => {
    const listener = (payload: T): void => {
      if (!test(payload)) return;
      emitter.off(event, listener);
      resolve(payload);
    };
    emitter.on(event, listener);
  });
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hostwarden-metrics-real-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('HostwardenMetrics with the real components', () => {
  it("shows a ResourceMonitor's samples and health: stopped, ok, degraded with the failing check, stopped", async () => {
    const registry = new Registry();
    const source = new ScriptedSource();
    const monitor = new ResourceMonitor({ source, rules: [], interval: 60_000, hostname: 'web-1' });
    monitor.on('error', () => {});
    const metrics = new HostwardenMetrics({ registry }).observe(monitor);
    assert.equal(await value(registry, 'hostwarden_health', { component: 'ResourceMonitor', state: 'stopped' }), 1);
    assert.equal(await value(registry, 'hostwarden_health', { component: 'ResourceMonitor', state: 'ok' }), 0);

    await monitor.start();
    source.reading = reading({ cpu: 42, memory: 61 });
    await monitor.sample();
    assert.equal(await value(registry, 'hostwarden_resource_cpu_percent'), 42);
    assert.equal(await value(registry, 'hostwarden_health', { component: 'ResourceMonitor', state: 'ok' }), 1);
    assert.equal(await value(registry, 'hostwarden_health_check_ok', { component: 'ResourceMonitor', check: 'source' }), 1);

    source.fail = new Error('EIO');
    await assert.rejects(monitor.sample());
    assert.equal(await value(registry, 'hostwarden_health', { component: 'ResourceMonitor', state: 'degraded' }), 1);
    assert.equal(await value(registry, 'hostwarden_health', { component: 'ResourceMonitor', state: 'ok' }), 0);
    assert.equal(await value(registry, 'hostwarden_health_check_ok', { component: 'ResourceMonitor', check: 'source' }), 0);

    await monitor.stop();
    assert.equal(await value(registry, 'hostwarden_health', { component: 'ResourceMonitor', state: 'stopped' }), 1);
    metrics.close();
  });

  it("counts a real LogWatcher's matches, alerts and lines read from a real file", async () => {
    const registry = new Registry();
    const log = join(dir, 'auth.log');
    const lines = Array.from({ length: 6 }, (_, i) => `Mar  3 00:17:${10 + i} web-1 sshd[${900 + i}]: Failed password for root from 203.0.113.5 port ${40000 + i} ssh2`);
    await writeFile(log, '');
    const watcher = new LogWatcher({ files: [log], rules: authRules, startAt: 'beginning', persistent: true });
    watcher.on('error', (e) => assert.fail(e));
    const metrics = new HostwardenMetrics({ registry }).observe(watcher);
    await watcher.start();
    const alerted = next(watcher, 'alert');
    await writeFile(log, `${lines.join('\n')}\n`);
    await alerted;
    const matches = (await registry.getSingleMetric('hostwarden_log_matches_total')?.get())?.values.reduce((sum, v) => sum + v.value, 0);
    assert.ok((matches ?? 0) >= 6, `six failed attempts matched (${matches})`);
    assert.equal(await value(registry, 'hostwarden_alerts_total', { source: 'log', status: 'firing', severity: 'critical' }), 1);
    assert.equal(await value(registry, 'hostwarden_log_lines_read_total', { component: 'LogWatcher' }), 6);
    assert.equal(await value(registry, 'hostwarden_health', { component: 'LogWatcher', state: 'ok' }), 1);
    await watcher.stop();
    metrics.close();
  });

  it("labels a real LogWatcher's warnings by their Warning code (a missing file, a cut line)", async () => {
    const registry = new Registry();
    const log = join(dir, 'long.log');
    const missing = join(dir, 'not-there.log');
    await writeFile(log, '');
    const watcher = new LogWatcher({ files: [missing, log], rules: authRules, startAt: 'beginning', maxLineLength: 64, persistent: true });
    watcher.on('error', (e) => assert.fail(e));
    const metrics = new HostwardenMetrics({ registry }).observe(watcher);
    const warned = (code: string): Promise<void> => new Promise((resolve) => watcher.on('warning', (w) => w.code === code && resolve()));
    const gone = warned('file-missing');
    try {
      await watcher.start();
      await gone;
      const cut = warned('line-truncated');
      await writeFile(log, `Mar  3 00:17:10 web-1 sshd[900]: ${'x'.repeat(200)}\n`);
      await cut;
      assert.equal(await value(registry, 'hostwarden_warnings_total', { component: 'LogWatcher', code: 'file-missing' }), 1);
      assert.equal(await value(registry, 'hostwarden_warnings_total', { component: 'LogWatcher', code: 'line-truncated' }), 1);
      assert.equal(await value(registry, 'hostwarden_warnings_total', { component: 'LogWatcher', code: 'unknown' }), undefined, 'no warning lost its code');
    } finally {
      // A persistent watcher left running would hold the test process open after a failed assertion.
      await watcher.stop();
    }
    metrics.close();
  });

  it("turns a real FileScanner's scan into files, bytes and findings", async () => {
    const registry = new Registry();
    const root = join(dir, 'home');
    await rm(root, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'notes.txt'), 'hello\n');
    await writeFile(join(root, 'setup.exe'), 'MZ not really\n');
    const scanner = new FileScanner({ roots: [root] });
    const metrics = new HostwardenMetrics({ registry }).observe(scanner);
    const report = await scanner.scan();
    assert.equal(report.filesScanned, 2);
    assert.equal(await value(registry, 'hostwarden_files_scanned_total'), 2);
    assert.equal(await value(registry, 'hostwarden_bytes_scanned_total'), 6 + 14);
    const findings = (await registry.getSingleMetric('hostwarden_scan_findings_total')?.get())?.values.reduce((sum, v) => sum + v.value, 0);
    assert.equal(findings, report.findings.length);
    assert.ok(report.findings.length >= 1, 'setup.exe is found');
    metrics.close();
  });

  it("counts a real Notifier's deliveries to a webhook on 127.0.0.1", async () => {
    const received: string[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const registry = new Registry();
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const notifier = new Notifier({ channels: [new WebhookChannel({ url, name: 'hook' })], groupWait: 0, persistent: true });
      notifier.on('error', (e) => assert.fail(e));
      const metrics = new HostwardenMetrics({ registry }).observe(notifier);
      await notifier.start();
      const sent = next(notifier, 'sent');
      void notifier.notify(createAlert({ source: 'log', rule: 'sshd.brute-force', severity: 'critical', title: 'SSH brute force' }));
      await sent;
      assert.equal(received.length, 1);
      assert.equal(await value(registry, 'hostwarden_notifications_sent_total', { channel: 'hook' }), 1);
      assert.equal(await value(registry, 'hostwarden_health', { component: 'Notifier', state: 'ok' }), 1);
      await notifier.stop();
      metrics.close();
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
