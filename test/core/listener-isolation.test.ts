// Issue #16: a throwing 'alert' listener registered before `notifier.attach(source)` used to
// make the Notifier deaf (one try/catch around the whole emit). Here, with each real class
// as the source and a real LogChannel, the buggy listener throws on every alert and the
// Notifier still delivers, while the throw is reported as a ListenerError.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileScanner, ListenerError, LogChannel, LogWatcher, Notifier, ResourceMonitor, authRules, type Alert, type Logger } from '../../src/index.js';
import { reading, ScriptedSource } from '../resource/helpers.js';

interface Source {
  on(event: 'alert', listener: (alert: Alert) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * A Notifier delivering to a real LogChannel whose logger records what was written.
 * Persistent: its timers are what keeps this test's event loop alive until delivery.
 */
async function notifierWithLog(): Promise<{ notifier: Notifier; delivered: string[] }> {
  const delivered: string[] = [];
  const record = (message: string): void => {
    delivered.push(message);
  };
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  const notifier = new Notifier({ channels: [new LogChannel({ logger, name: 'log' })], groupWait: 0, persistent: true });
  notifier.on('error', (e) => assert.fail(e));
  await notifier.start();
  return { notifier, delivered };
}

/** Registers the buggy listener first, then attaches the Notifier; returns what to await. */
function wire(source: Source, notifier: Notifier): { errors: Error[]; sent: Promise<void> } {
  const errors: Error[] = [];
  source.on('alert', () => {
    throw new Error('buggy dashboard handler');
  });
  notifier.attach(source as never);
  source.on('error', (e) => errors.push(e));
  const sent = new Promise<void>((resolve) => notifier.once('sent', () => resolve()));
  return { errors, sent };
}

function assertIsolated(errors: readonly Error[], delivered: readonly string[], title: RegExp): void {
  assert.ok(
    delivered.some((m) => title.test(m)),
    `the Notifier delivered the alert despite the throwing listener before it: ${JSON.stringify(delivered)}`,
  );
  assert.ok(errors.length >= 1 && errors.every((e) => e instanceof ListenerError && e.event === 'alert'), 'the throw is reported as a ListenerError');
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hostwarden-isolation-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a throwing listener never keeps the Notifier from hearing an alert', () => {
  it('ResourceMonitor', async () => {
    const { notifier, delivered } = await notifierWithLog();
    const source = new ScriptedSource();
    const monitor = new ResourceMonitor({ source, rules: [{ metric: 'cpu', above: 80 }] });
    const { errors, sent } = wire(monitor, notifier);
    source.reading = reading({ cpu: 99 });
    await monitor.sample();
    await sent;
    assertIsolated(errors, delivered, /CPU/);
    await monitor.stop();
    await notifier.stop();
  });

  it('LogWatcher', async () => {
    const { notifier, delivered } = await notifierWithLog();
    const log = join(dir, 'auth.log');
    await writeFile(log, '');
    const watcher = new LogWatcher({ files: [log], rules: authRules, startAt: 'beginning', persistent: true });
    const { errors, sent } = wire(watcher, notifier);
    await watcher.start();
    const lines = Array.from({ length: 6 }, (_, i) => `Mar  3 00:17:${10 + i} web-1 sshd[${900 + i}]: Failed password for root from 203.0.113.9 port ${40000 + i} ssh2`);
    await writeFile(log, `${lines.join('\n')}\n`);
    await sent;
    assertIsolated(errors, delivered, /203\.0\.113\.9/);
    await watcher.stop();
    await notifier.stop();
  });

  it('FileScanner', async () => {
    const { notifier, delivered } = await notifierWithLog();
    const root = join(dir, 'home');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'invoice.exe'), 'MZ not really\n');
    const scanner = new FileScanner({ roots: [root] });
    const { errors, sent } = wire(scanner, notifier);
    await scanner.scan();
    await sent;
    assertIsolated(errors, delivered, /invoice\.exe/);
    await notifier.stop();
  });

  it("Notifier: a throwing 'sent' listener does not starve the next one", async () => {
    const { notifier } = await notifierWithLog();
    const errors: Error[] = [];
    notifier.removeAllListeners('error');
    notifier.on('error', (e) => errors.push(e));
    notifier.on('sent', () => {
      throw new Error('buggy');
    });
    const heard = new Promise<void>((resolve) => notifier.on('sent', () => resolve()));
    const { createAlert } = await import('../../src/index.js');
    notifier.notify(createAlert({ source: 'test', rule: 'x', severity: 'critical', title: 'hello' }));
    await heard;
    assert.ok(errors.some((e) => e instanceof ListenerError && e.event === 'sent'));
    await notifier.stop();
  });
});
