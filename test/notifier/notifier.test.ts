import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import {
  DeliveryError,
  HostwardenEmitter,
  InvalidOptionError,
  Notifier,
  StateError,
  resolveAlert,
  type Alert,
  type BaseEvents,
  type FailedEvent,
  type NotifierOptions,
  type SuppressedEvent,
} from '../../src/index.js';
import { runScript } from '../helpers/run-script.js';
import { MemoryChannel, alert, recordingLogger } from './helpers.js';

/**
 * A Notifier with fast timers for tests. The clock runs with real time (the retry timers
 * and the rate limit's refill are real) plus `clock.now`, which a test moves to jump ahead.
 */
function make(channels: MemoryChannel[], options: Partial<NotifierOptions> = {}): { notifier: Notifier; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const origin = performance.now();
  const notifier = new Notifier({
    channels,
    groupWait: 0,
    retry: { initialDelay: 1, maxDelay: 5, maxAttempts: 4 },
    clock: () => clock.now + Math.floor(performance.now() - origin),
    random: () => 0.5,
    persistent: true,
    ...options,
  });
  notifier.on('error', (error) => assert.fail(error));
  return { notifier, clock };
}

const retryable = (msg = 'HTTP 503'): DeliveryError => new DeliveryError(msg, { channel: 'memory', retryable: true, status: 503 });
const permanent = (msg = 'invalid_auth'): DeliveryError => new DeliveryError(msg, { channel: 'memory', retryable: false });

describe('Notifier options', () => {
  it('rejects invalid options, naming them', () => {
    const ch = new MemoryChannel();
    assert.throws(
      () => new Notifier({ channels: [] }),
      (e: unknown) => e instanceof InvalidOptionError && e.option === 'channels',
    );
    assert.throws(() => new Notifier({ channels: [ch, new MemoryChannel()] }), /channels\[1\]\.name/);
    assert.throws(() => new Notifier({ channels: [ch], groupWait: -1 }), /`groupWait`.*-1/);
    assert.throws(() => new Notifier({ channels: [ch], repeatInterval: Number.NaN }), /`repeatInterval`/);
    assert.throws(() => new Notifier({ channels: [ch], retry: { maxAttempts: 0 } }), /`retry\.maxAttempts`/);
    assert.throws(() => new Notifier({ channels: [ch], rateLimit: { perSecond: 0 } }), /`rateLimit\.perSecond`/);
    assert.throws(() => new Notifier({ channels: [ch], rateLimits: { nope: { perSecond: 1 } } }), /`rateLimits\.nope`/);
    assert.throws(() => new Notifier({ channels: [ch], outbox: { directory: '' } }), /`outbox\.directory`/);
    assert.throws(() => new Notifier({ channels: [ch], route: 'x' as never }), /`route`/);
  });

  it('notify() before start() and after stop() is a StateError; a bad alert is an InvalidOptionError', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch]);
    await assert.rejects(notifier.notify(alert()), StateError);
    await notifier.start();
    await assert.rejects(notifier.notify({ title: 'x' } as unknown as Alert), InvalidOptionError);
    await notifier.stop();
    await assert.rejects(notifier.notify(alert()), StateError);
    assert.equal(ch.opened, 1);
    assert.equal(ch.closed, 1);
  });
});

describe('Notifier dedup', () => {
  it('announces a firing key once per repeatInterval, escalations at once', async () => {
    const ch = new MemoryChannel();
    const { notifier, clock } = make([ch], { repeatInterval: 60_000 });
    const suppressed: SuppressedEvent[] = [];
    notifier.on('suppressed', (e) => suppressed.push(e));
    await notifier.start();
    const key = 'log:sshd.brute-force:203.0.113.5';
    for (let i = 0; i < 5; i++) await notifier.notify(alert({ key }));
    await notifier.flush();
    assert.equal(ch.alerts.length, 1);
    assert.equal(suppressed.filter((e) => e.reason === 'duplicate').length, 4);

    clock.now += 30_000;
    await notifier.notify(alert({ key, severity: 'critical' }));
    await notifier.flush();
    assert.equal(ch.alerts.length, 2, 'an escalation to critical is news');

    clock.now += 30_000; // 60 s after the first, 30 s after the escalation
    await notifier.notify(alert({ key, severity: 'critical' }));
    await notifier.flush();
    assert.equal(ch.alerts.length, 2);
    clock.now += 30_001;
    await notifier.notify(alert({ key, severity: 'critical' }));
    await notifier.flush();
    assert.equal(ch.alerts.length, 3, 'repeated after repeatInterval while still firing');
    assert.deepEqual(notifier.stats, { pending: 0, outboxDepth: 0, sent: 3, failed: 0, suppressed: 5 });
    await notifier.stop();
  });

  it('sends resolved notices only to channels that saw the firing, threaded under it', async () => {
    const all = new MemoryChannel('all', 'info');
    const crit = new MemoryChannel('crit', 'critical');
    const { notifier } = make([all, crit]);
    const suppressed: SuppressedEvent[] = [];
    notifier.on('suppressed', (e) => suppressed.push(e));
    await notifier.start();
    const firing = alert({ key: 'cpu', severity: 'warning' });
    await notifier.notify(firing);
    await notifier.flush();
    await notifier.notify(resolveAlert(firing));
    await notifier.flush();
    assert.deepEqual(
      all.sent.map((n) => n.status),
      ['firing', 'resolved'],
    );
    assert.equal(all.sent[1]?.threadRef, 'all-1');
    assert.equal(crit.sent.length, 0);
    assert.deepEqual(
      suppressed.map((e) => [e.reason, e.channel]),
      [['severity', 'crit']],
    );

    // A resolved notice for a key nobody was told about goes nowhere.
    await notifier.notify(resolveAlert(alert({ key: 'never-fired' })));
    assert.deepEqual(suppressed.at(-1)?.reason, 'duplicate');
    // After a resolve, the same key firing again is announced again.
    await notifier.notify(alert({ key: 'cpu' }));
    await notifier.flush();
    assert.equal(all.sent.length, 3);
    await notifier.stop();
  });

  it('routes by predicate', async () => {
    const a = new MemoryChannel('a');
    const b = new MemoryChannel('b');
    const { notifier } = make([a, b], { route: (al, channel) => channel.name === 'a' || al.source === 'file' });
    await notifier.start();
    await notifier.notify(alert({ source: 'log' }));
    await notifier.notify(alert({ source: 'file' }));
    await notifier.flush();
    assert.equal(a.alerts.length, 2);
    assert.deepEqual(
      b.alerts.map((x) => x.source),
      ['file'],
    );
    await notifier.stop();
  });

  it('a throwing route or groupBy is reported and the alert still goes out', async () => {
    const ch = new MemoryChannel();
    const notifier = new Notifier({
      channels: [ch],
      groupWait: 0,
      persistent: true,
      route: () => {
        throw new Error('route bug');
      },
      groupBy: () => {
        throw new Error('groupBy bug');
      },
    });
    const errors: Error[] = [];
    notifier.on('error', (e) => errors.push(e));
    await notifier.start();
    await notifier.notify(alert({ source: 'log', rule: 'r' }));
    await notifier.flush();
    await notifier.stop();
    assert.equal(ch.alerts.length, 1);
    assert.equal(ch.sent[0]?.groupKey, 'log:r');
    assert.deepEqual(
      errors.map((e) => e.message),
      ["A listener for 'route' threw: route bug", "A listener for 'groupBy' threw: groupBy bug"],
    );
  });

  it('keeps dedup memory bounded (least recently seen keys forgotten)', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { maxKeys: 10 });
    await notifier.start();
    for (let i = 0; i < 100; i++) await notifier.notify(alert({ key: `key-${i}` }));
    await notifier.notify(alert({ key: 'key-0' })); // forgotten long ago: announced again
    await notifier.notify(alert({ key: 'key-99' })); // remembered: suppressed
    await notifier.flush();
    assert.equal(ch.alerts.length, 101);
    await notifier.stop();
  });
});

describe('Notifier grouping', () => {
  it('sends a burst of one rule as one digest, other rules separately', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { groupWait: 60_000 });
    await notifier.start();
    for (let i = 1; i <= 6; i++) await notifier.notify(alert({ rule: 'sshd.brute-force', key: `ssh:${i}`, title: `SSH brute force from 203.0.113.${i}` }));
    await notifier.notify(alert({ rule: 'cpu.high', key: 'cpu' }));
    assert.equal(ch.sent.length, 0, 'held for groupWait');
    await notifier.flush(); // flush sends open groups at once
    assert.equal(ch.sent.length, 2);
    const digest = ch.sent.find((n) => n.alerts.length === 6);
    assert.ok(digest);
    assert.equal(digest.groupKey, 'test:sshd.brute-force');
    await notifier.stop();
  });

  it('turns an attack of 10,000 failed logins from 50 hosts into a few messages', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { groupWait: 60_000 });
    await notifier.start();
    for (let i = 0; i < 10_000; i++) {
      const host = `203.0.113.${i % 50}`;
      await notifier.notify(alert({ rule: 'sshd.brute-force', key: `log:sshd.brute-force:${host}`, title: `SSH brute force from ${host}`, labels: { host } }));
    }
    await notifier.flush();
    assert.equal(ch.sent.length, 1, 'one digest');
    assert.equal(ch.alerts.length, 50, 'each attacking host once');
    assert.equal(notifier.stats.suppressed, 9_950);
    await notifier.stop();
  });

  it('closes a group when it reaches maxGroupSize', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { groupWait: 60_000, maxGroupSize: 4 });
    await notifier.start();
    for (let i = 0; i < 10; i++) await notifier.notify(alert());
    await notifier.flush();
    assert.deepEqual(
      ch.sent.map((n) => n.alerts.length),
      [4, 4, 2],
    );
    await notifier.stop();
  });

  it('sends the digest after groupWait without a flush', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { groupWait: 20 });
    await notifier.start();
    const sent = new Promise<void>((resolve) => notifier.once('sent', () => resolve()));
    await notifier.notify(alert());
    await notifier.notify(alert());
    await sent;
    assert.equal(ch.sent[0]?.alerts.length, 2);
    await notifier.stop();
  });
});

describe('Notifier retries and failures', () => {
  it('retries retryable errors with backoff, honouring Retry-After, then delivers', async () => {
    const ch = new MemoryChannel();
    ch.script.push(retryable(), new DeliveryError('429', { channel: 'memory', retryable: true, status: 429, retryAfterMs: 30 }), undefined);
    const { notifier } = make([ch]);
    const delays: number[] = [];
    notifier.on('retry', (e) => delays.push(e.delay));
    await notifier.start();
    await notifier.notify(alert());
    await notifier.flush();
    assert.deepEqual(
      ch.attempts.map((a) => a.attempt),
      [1, 2, 3],
    );
    assert.equal(ch.sent.length, 1);
    assert.equal(delays.length, 2);
    assert.ok(delays[1]! >= 30, `Retry-After honoured, got ${delays[1]}`);
    assert.equal(notifier.stats.sent, 1);
    await notifier.stop();
  });

  it('never retries a permanent error: one failed event, one error log for an outage', async () => {
    const ch = new MemoryChannel();
    for (let i = 0; i < 3; i++) ch.script.push(permanent('Slack refused the message: invalid_auth'));
    const logger = recordingLogger();
    const { notifier } = make([ch], { logger, repeatInterval: 0 });
    const failed: FailedEvent[] = [];
    notifier.on('failed', (e) => failed.push(e));
    await notifier.start();
    for (let i = 0; i < 3; i++) {
      await notifier.notify(alert({ key: 'same', rule: `r${i}` }));
      await notifier.flush();
    }
    assert.equal(ch.attempts.length, 3, 'one attempt each, no retries');
    assert.equal(failed.length, 3);
    assert.ok(failed.every((e) => e.permanent && e.attempt === 1));
    assert.equal(logger.lines.filter((l) => l.startsWith('error')).length, 1, 'the same failure is logged once');
    assert.equal(notifier.stats.failed, 3);
    // A later success resets it, so the next outage is logged again.
    await notifier.notify(alert({ key: 'other' }));
    await notifier.flush();
    ch.script.push(permanent('Slack refused the message: invalid_auth'));
    await notifier.notify(alert({ key: 'third' }));
    await notifier.flush();
    assert.equal(logger.lines.filter((l) => l.startsWith('error')).length, 2);
    await notifier.stop();
  });

  it('gives up after maxAttempts and lets the key be announced again', async () => {
    const ch = new MemoryChannel();
    for (let i = 0; i < 4; i++) ch.script.push(retryable());
    const { notifier } = make([ch]);
    const failed: FailedEvent[] = [];
    notifier.on('failed', (e) => failed.push(e));
    await notifier.start();
    await notifier.notify(alert({ key: 'k' }));
    await notifier.flush();
    assert.equal(ch.attempts.length, 4);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.permanent, false);
    assert.equal(failed[0]?.error.status, 503);
    await notifier.notify(alert({ key: 'k' }));
    await notifier.flush();
    assert.equal(ch.sent.length, 1, 'not suppressed as a duplicate: it was never delivered');
    await notifier.stop();
  });

  it('times out a send that hangs and retries it', async () => {
    const ch = new MemoryChannel();
    let release!: () => void;
    ch.gate = new Promise<void>((resolve) => (release = resolve));
    const { notifier } = make([ch], { sendTimeout: 20 });
    const retries: string[] = [];
    notifier.on('retry', (e) => {
      retries.push(e.error.message);
      ch.gate = undefined;
      release();
    });
    await notifier.start();
    await notifier.notify(alert());
    await notifier.flush();
    assert.match(retries[0] ?? '', /no answer within 20 ms/);
    assert.equal(ch.sent.length, 2, 'the timed-out attempt may still land: at-least-once');
    await notifier.stop();
  });

  it('a channel that throws a plain Error is retried; a throwing listener becomes an error event', async () => {
    const ch = new MemoryChannel();
    ch.script.push(new TypeError('boom'));
    const notifier = new Notifier({ channels: [ch], groupWait: 0, retry: { initialDelay: 1 } });
    const errors: Error[] = [];
    notifier.on('error', (e) => errors.push(e));
    notifier.on('sent', () => {
      throw new Error('listener bug');
    });
    await notifier.start();
    await notifier.notify(alert());
    await notifier.flush();
    assert.equal(ch.sent.length, 1);
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? '', /listener bug/);
    await notifier.stop();
  });
});

describe('Notifier lifecycle', () => {
  it('flush() holds a script open until delivery; an idle Notifier does not hold it open', async () => {
    const result = await runScript(new URL('fixtures/exit-child.ts', import.meta.url), [], 30_000);
    assert.equal(result.timedOut, false, 'the script exits by itself');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /delivered=from a script/);
  });

  it('attach() subscribes to alert events (also before start) and detaches on stop', async () => {
    interface SourceEvents extends BaseEvents {
      /** An alert. */
      alert: [alert: Alert];
    }
    const typed = new HostwardenEmitter<SourceEvents>();
    const node = new EventEmitter();
    const ch = new MemoryChannel();
    const { notifier } = make([ch]);
    notifier.attach(typed, node);
    assert.equal(typed.listenerCount('alert'), 0, 'subscribed at start');
    await notifier.start();
    assert.equal(typed.listenerCount('alert'), 1);
    typed.emit('alert', alert());
    node.emit('alert', alert());
    await new Promise((resolve) => setImmediate(resolve));
    await notifier.flush();
    assert.equal(ch.alerts.length, 2);
    await notifier.stop();
    assert.equal(typed.listenerCount('alert'), 0);
    assert.equal(node.listenerCount('alert'), 0);
  });

  it('an aborted signal stops it (delivering what is pending)', async () => {
    const ch = new MemoryChannel();
    const controller = new AbortController();
    const { notifier } = make([ch], { groupWait: 60_000, signal: controller.signal });
    await notifier.start();
    await notifier.notify(alert());
    const stopped = new Promise<void>((resolve) => notifier.once('sent', () => resolve()));
    controller.abort();
    await stopped;
    await notifier.stop();
    assert.equal(notifier.state, 'stopped');
    assert.equal(ch.sent.length, 1);
  });

  it('stop() flushes what is pending within stopTimeout', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { groupWait: 60_000 });
    await notifier.start();
    await notifier.notify(alert());
    await notifier.stop();
    assert.equal(ch.sent.length, 1);
  });

  it('stop() gives up after stopTimeout and reports what was not delivered', async () => {
    const ch = new MemoryChannel();
    for (let i = 0; i < 100; i++) ch.script.push(retryable());
    const logger = recordingLogger();
    const { notifier } = make([ch], { stopTimeout: 30, retry: { initialDelay: 5, maxDelay: 5, maxAttempts: 100 }, logger });
    const failed: FailedEvent[] = [];
    notifier.on('failed', (e) => failed.push(e));
    await notifier.start();
    await notifier.notify(alert());
    await notifier.stop();
    assert.equal(failed.length, 1);
    assert.match(failed[0]?.error.message ?? '', /stopped first/);
    assert.equal(notifier.stats.pending, 0);
  });

  it('bounds each channel queue: overflow is suppressed as rate-limit, memory stays flat', async () => {
    const ch = new MemoryChannel();
    let release!: () => void;
    ch.gate = new Promise<void>((resolve) => (release = resolve));
    const { notifier } = make([ch], { maxQueue: 3, maxGroupSize: 1 });
    const reasons: string[] = [];
    notifier.on('suppressed', (e) => reasons.push(e.reason));
    await notifier.start();
    for (let i = 0; i < 20; i++) await notifier.notify(alert());
    let flushed = false;
    const flushing = notifier.flush().then(() => (flushed = true)); // closes every open group now
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(flushed, false, 'flush() waits for the delivery held at the gate');
    // The queue (three, the one in flight included) is full; the other seventeen were dropped.
    assert.equal(reasons.filter((r) => r === 'rate-limit').length, 17);
    ch.gate = undefined;
    release();
    await flushing;
    assert.equal(ch.alerts.length, 3);
    assert.equal(notifier.stats.suppressed, 17);
    await notifier.stop();
  });

  it('keeps the order of notifications through the rate limit (the limit itself: faults.test.ts, on mock timers)', async () => {
    const ch = new MemoryChannel();
    const { notifier } = make([ch], { rateLimits: { memory: { perSecond: 200, burst: 2 } }, maxGroupSize: 1 });
    await notifier.start();
    for (let i = 0; i < 6; i++) await notifier.notify(alert({ title: `t${i}` }));
    await notifier.flush();
    assert.deepEqual(
      ch.alerts.map((a) => a.title),
      ['t0', 't1', 't2', 't3', 't4', 't5'],
    );
    await notifier.stop();
  });
});
