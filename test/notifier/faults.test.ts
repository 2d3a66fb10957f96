import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it, mock } from 'node:test';
import {
  AbortedError,
  AlertmanagerChannel,
  DeliveryError,
  LogChannel,
  Notifier,
  SlackChannel,
  WebhookChannel,
  createAlert,
  type Alert,
  type Notification,
} from '../../src/index.js';
import { headline } from '../../src/notifier/format.js';
import { renderSlackMessage } from '../../src/notifier/channels/slack.js';
import { FakeHook, FakeSlack, MemoryChannel, alert, recordingLogger } from './helpers.js';

const run = promisify(execFile);

describe('HTTP deadlines and Retry-After', () => {
  it('the webhook deadline fires under forced garbage collection (a child run with --expose-gc, a peer that hangs)', async () => {
    // The peer answers 200, but only after 5 s: a deadline lost to GC shows as "delivered".
    const server = createServer((req, res) => {
      req.resume();
      const timer = setTimeout(() => res.writeHead(200).end(), 5000);
      res.on('close', () => clearTimeout(timer));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const script = fileURLToPath(new URL('fixtures/gc-timeout-child.ts', import.meta.url));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      const { stdout } = await run(process.execPath, ['--expose-gc', '--import=tsx/esm', script, url]);
      const result = JSON.parse(stdout.trim()) as { outcome: string; message?: string; retryable?: boolean };
      assert.equal(result.outcome, 'failed', stdout);
      assert.match(result.message ?? '', /no answer within 100 ms/);
      assert.equal(result.retryable, true);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('Alertmanager answering 503 with Retry-After: 99999999 pauses the channel for at most an hour, on one timer', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(503, { 'retry-after': '99999999' }).end('overloaded'));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const channel = new AlertmanagerChannel({ urls: [`http://127.0.0.1:${(server.address() as AddressInfo).port}`] });
      const e = await channel.send({ status: 'firing', alerts: [alert()], groupKey: 'g' }, { signal: new AbortController().signal, attempt: 1 }).then(
        () => assert.fail('expected a failure'),
        (x: unknown) => x,
      );
      assert.ok(e instanceof DeliveryError);
      assert.deepEqual([e.retryable, e.status, e.retryAfterMs], [true, 503, 3_600_000]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a channel asking for days: the Notifier waits one capped delay on one timer, no 1 ms spin', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
    const spy = mock.method(globalThis, 'setTimeout');
    return (async () => {
      try {
        const ch = new MemoryChannel();
        ch.script.push(new DeliveryError('slow down', { channel: 'memory', retryable: true, status: 429, retryAfterMs: 35 * 86_400_000 }));
        const notifier = new Notifier({ channels: [ch], groupWait: 0, clock: () => Date.now() });
        const delays: number[] = [];
        notifier.on('retry', (e) => delays.push(e.delay));
        await notifier.start();
        await notifier.notify(alert());
        for (let i = 0; i < 20 && delays.length === 0; i++) {
          mock.timers.tick(0);
          await new Promise((resolve) => setImmediate(resolve));
        }
        assert.deepEqual(delays, [3_600_000]);
        const before = spy.mock.callCount();
        for (let i = 0; i < 50; i++) {
          mock.timers.tick(1);
          await new Promise((resolve) => setImmediate(resolve));
        }
        assert.equal(spy.mock.callCount() - before, 0, 'no timers armed while waiting (no spin)');
        assert.equal(ch.sent.length, 0);
        mock.timers.tick(3_600_000);
        for (let i = 0; i < 20 && ch.sent.length === 0; i++) {
          mock.timers.tick(0);
          await new Promise((resolve) => setImmediate(resolve));
        }
        assert.equal(ch.sent.length, 1, 'delivered once the capped wait passed');
        const stopping = notifier.stop();
        mock.timers.tick(20_000);
        await stopping;
      } finally {
        spy.mock.restore();
        mock.timers.reset();
      }
    })();
  });
});

describe('rate limit on the injected clock', () => {
  it('a channel limited to 1 message/s (burst 1) sends the second message only when the clock has moved a second', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 5_000_000 });
    try {
      const ch = new MemoryChannel();
      const notifier = new Notifier({ channels: [ch], groupWait: 0, rateLimits: { memory: { perSecond: 1, burst: 1 } }, clock: () => Date.now() });
      await notifier.start();
      const settle = async (): Promise<void> => {
        for (let i = 0; i < 10; i++) {
          mock.timers.tick(0);
          await new Promise((resolve) => setImmediate(resolve));
        }
      };
      // Three groups (three rules): three messages.
      for (const rule of ['a', 'b', 'c']) await notifier.notify(alert({ rule }));
      await settle();
      assert.equal(ch.sent.length, 1, 'the burst of one goes at once');
      mock.timers.tick(999);
      await settle();
      assert.equal(ch.sent.length, 1, 'not before a second has passed on the clock');
      mock.timers.tick(1);
      await settle();
      assert.equal(ch.sent.length, 2);
      mock.timers.tick(1000);
      await settle();
      assert.equal(ch.sent.length, 3);
      const stopping = notifier.stop();
      mock.timers.tick(20_000);
      await stopping;
    } finally {
      mock.timers.reset();
    }
  });
});

describe('flush() and stop() are bounded', () => {
  it('flush({ timeout }) and flush({ signal }) reject with an AbortedError naming what is pending; stop() is the bounded way out', async () => {
    const hook = await FakeHook.start();
    try {
      hook.status = 503; // a channel that keeps failing: an unbounded flush would wait for the retries to run out
      const notifier = new Notifier({
        channels: [new WebhookChannel({ url: hook.url })],
        groupWait: 0,
        retry: { initialDelay: 5, maxDelay: 10, maxAttempts: 1000 },
        stopTimeout: 50,
      });
      await notifier.start();
      await notifier.notify(alert({ title: 'owed' }));
      await assert.rejects(notifier.flush({ timeout: 100 }), (e: unknown) => e instanceof AbortedError && /timed out after 100ms with 1 deliveries pending/.test(e.message));
      const controller = new AbortController();
      const flushing = notifier.flush({ signal: controller.signal });
      controller.abort(new Error('the caller gave up'));
      await assert.rejects(flushing, (e: unknown) => e instanceof AbortedError && /aborted with 1 deliveries pending/.test(e.message));
      assert.throws(() => notifier.flush({ timeout: -1 }), /`timeout`/);
      const failed: string[] = [];
      notifier.on('failed', (e) => failed.push(e.error.message));
      await notifier.stop();
      assert.equal(failed.length, 1, 'stop() gave up after stopTimeout and said so');
      assert.ok(hook.received.length === 0);
    } finally {
      await hook.close();
    }
  });
});

describe('digests lead with the most severe alert', () => {
  const file = (severity: 'info' | 'warning' | 'critical', title: string): Alert => createAlert({ source: 'file', rule: 'file.executable', severity, title });

  it('headline: the critical findings first, as many titles as fit, then how many more', () => {
    const alerts = [
      ...Array.from({ length: 11 }, (_, i) => file('info', `script ${i} (#!/usr/bin/env node)`)),
      file('critical', 'PE in /home/eve/x.pdf'),
      file('critical', 'ELF in /tmp/.x'),
    ];
    const n: Notification = { status: 'firing', alerts, groupKey: 'file:file.executable' };
    const line = headline(n, 200);
    assert.match(line, /^13 × file\.executable: PE in \/home\/eve\/x\.pdf; ELF in \/tmp\/\.x; script 0/);
    assert.match(line, /\(\+\d+ more\)$/);
    assert.ok(line.length <= 200);
    const shown = line.split('; ').length;
    assert.equal(Number(/\(\+(\d+) more\)$/.exec(line)?.[1]), 13 - shown, 'the count of the rest is exact');
  });

  it('Slack: a digest of 100 names every alert up to the section limit, most severe first, then "+N more"', () => {
    const alerts = [
      ...Array.from({ length: 97 }, (_, i) => file('warning', `finding ${i}`)),
      file('critical', 'critical one'),
      file('critical', 'critical two'),
      file('info', 'last'),
    ];
    const message = renderSlackMessage({ status: 'firing', alerts, groupKey: 'g' });
    const header = (message.blocks[0] as { text: { text: string } }).text.text;
    assert.match(header, /critical one/);
    const texts = message.blocks.map((b) => JSON.stringify(b)).join('\n');
    // Every one of the 100 is named somewhere (in full or in the list): none silently dropped.
    for (const a of alerts) assert.ok(texts.includes(a.title) || /\(\+\d+ more\)/.test(texts), a.title);
    const named = alerts.filter((a) => texts.includes(`${a.title}\\`) || texts.includes(`${a.title}*`) || texts.includes(`${a.title}"`)).length;
    assert.ok(named > 30, `only ${named} of 100 named`);
    assert.equal(named, 100, 'this digest fits in one message');
  });
});

describe('after a restart, new events are delivered on every channel', () => {
  it('restart with the outbox: new brute-force and new file alerts reach Slack, the webhook and the log; replays do not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hostwarden-events-'));
    const slack = await FakeSlack.start();
    const hook = await FakeHook.start();
    const logged = recordingLogger();
    // One fake clock for the Notifiers and the alerts' observation times.
    let now = Date.UTC(2026, 0, 1, 12);
    const make = (): Notifier =>
      new Notifier({
        channels: [new SlackChannel({ token: 'xoxb-test', channel: 'C1', slackApiUrl: slack.url }), new WebhookChannel({ url: hook.url }), new LogChannel({ logger: logged })],
        outbox: { directory: dir },
        groupWait: 0,
        clock: () => now,
      });
    const bruteForce = (): Alert =>
      createAlert({
        source: 'log',
        rule: 'sshd.brute-force',
        severity: 'critical',
        key: 'log:sshd.brute-force:203.0.113.5',
        title: 'SSH brute force from 203.0.113.5',
        labels: { host: '203.0.113.5' },
        time: new Date(now),
      });
    const eicar = (): Alert =>
      createAlert({
        source: 'file',
        rule: 'file.signature',
        severity: 'critical',
        key: 'file:file.signature:/srv/www/x.php',
        title: 'EICAR in /srv/www/x.php',
        time: new Date(now),
      });
    try {
      const first = make();
      await first.start();
      const [b1, f1] = [bruteForce(), eicar()];
      await first.notify(b1);
      await first.notify(f1);
      await first.flush();
      await first.stop();
      const counts = (): number[] => [slack.posted.length, hook.received.length, logged.lines.length];
      assert.deepEqual(counts(), [2, 2, 2]);

      // The agent restarts within the 4 h repeat interval; the same attacker comes back and
      // the file is planted again.
      now += 60_000; // a minute later: a later observation time, well within the repeat interval
      const second = make();
      await second.start();
      await second.notify(b1); // a replay of what was already announced
      await second.notify(f1);
      await second.notify(bruteForce());
      await second.notify(eicar());
      await second.flush();
      await second.stop();
      assert.deepEqual(counts(), [4, 4, 4], 'each new event once on each channel, the replays on none');
    } finally {
      await slack.close();
      await hook.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('retry logging', () => {
  it('an outage is logged once per channel until a delivery succeeds, then once more when it works again', async () => {
    const logger = recordingLogger();
    const ch = new MemoryChannel();
    for (let i = 0; i < 5; i++) ch.script.push(new DeliveryError('HTTP 503', { channel: 'memory', retryable: true, status: 503 }));
    const notifier = new Notifier({ channels: [ch], groupWait: 0, persistent: true, logger, retry: { initialDelay: 1, maxDelay: 2 } });
    let retries = 0;
    notifier.on('retry', () => retries++);
    await notifier.start();
    await notifier.notify(alert());
    await notifier.flush();
    for (let i = 0; i < 3; i++) ch.script.push(new DeliveryError('HTTP 502', { channel: 'memory', retryable: true, status: 502 }));
    await notifier.notify(alert());
    await notifier.flush();
    await notifier.stop();
    assert.equal(retries, 8, 'every retry is an event');
    assert.equal(logger.lines.filter((l) => /delivery to memory failed, retrying/.test(l)).length, 2, 'one warning per outage');
    assert.equal(logger.lines.filter((l) => /works again/.test(l)).length, 2);
  });
});

describe('health()', () => {
  it('a failing channel makes the Notifier degraded, with the channel named; a success makes it ok again', async () => {
    const hook = await FakeHook.start();
    try {
      const notifier = new Notifier({
        channels: [new WebhookChannel({ url: hook.url, name: 'hook' })],
        groupWait: 0,
        persistent: true,
        retry: { initialDelay: 5, maxDelay: 10, maxAttempts: 1000 },
      });
      const states: string[] = [];
      notifier.on('health', (h) => states.push(h.state));
      assert.equal(notifier.health().state, 'stopped');
      await notifier.start();
      assert.equal(notifier.health().state, 'ok');
      hook.status = 503;
      let retried!: () => void;
      const failing = new Promise<void>((resolve) => (retried = resolve));
      notifier.once('retry', () => retried());
      await notifier.notify(alert());
      await failing;
      const degraded = notifier.health();
      assert.equal(degraded.state, 'degraded');
      assert.deepEqual(
        degraded.checks.filter((c) => !c.ok).map((c) => c.name),
        ['channel:hook'],
      );
      hook.status = 204;
      await notifier.flush();
      assert.equal(notifier.health().state, 'ok');
      await notifier.stop();
      assert.deepEqual(states, ['ok', 'degraded', 'ok', 'stopped']);
    } finally {
      await hook.close();
    }
  });
});
