import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DeliveryError, IoError, Notifier, StateError, WebhookChannel, resolveAlert, type FailedEvent, type NotifierOptions, type SuppressedEvent } from '../../src/index.js';
import { processStart } from '../../src/notifier/outbox.js';
import { FakeHook, MemoryChannel, alert, recordingLogger, until } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hostwarden-outbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function make(channel: MemoryChannel, options: Partial<NotifierOptions> = {}): Notifier {
  const notifier = new Notifier({
    channels: [channel],
    outbox: { directory: dir },
    groupWait: 0,
    persistent: true,
    retry: { initialDelay: 1, maxDelay: 2 },
    stopTimeout: 50,
    ...options,
  });
  notifier.on('error', (e) => assert.fail(e));
  return notifier;
}

const outage = (): DeliveryError => new DeliveryError('HTTP 503', { channel: 'memory', retryable: true, status: 503 });
const lines = async (name = 'outbox.jsonl'): Promise<Record<string, unknown>[]> =>
  (await readFile(join(dir, name), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('Notifier outbox', () => {
  it('notify() resolves once the alert is on disk, before delivery', async () => {
    const ch = new MemoryChannel();
    ch.gate = new Promise(() => {}); // delivery never completes
    const notifier = make(ch);
    await notifier.start();
    const a = alert({ title: 'durable' });
    await notifier.notify(a);
    const records = await lines();
    const entry = records.find((r) => r.t === 'a');
    assert.equal((entry?.alert as { title: string }).title, 'durable');
    assert.deepEqual(entry?.ch, ['memory']);
    assert.equal(notifier.stats.outboxDepth, 1);
    await notifier.stop();
  });

  it('an alert accepted during an outage is delivered after a restart, and not re-announced later', async () => {
    const down = new MemoryChannel();
    for (let i = 0; i < 1000; i++) down.script.push(outage());
    const first = make(down, { outbox: { directory: dir, maxAttempts: 1000 } });
    await first.start();
    for (let i = 0; i < 5; i++) await first.notify(alert({ key: `k${i}`, title: `outage ${i}` }));
    await first.stop(); // gives up after stopTimeout; the alerts stay in the outbox
    assert.equal(down.sent.length, 0);
    assert.equal(first.stats.outboxDepth, 5);

    const up = new MemoryChannel();
    const second = make(up);
    const suppressed: SuppressedEvent[] = [];
    second.on('suppressed', (e) => suppressed.push(e));
    await second.start();
    await second.flush();
    assert.deepEqual(up.alerts.map((a) => a.title).sort(), ['outage 0', 'outage 1', 'outage 2', 'outage 3', 'outage 4']);
    assert.equal(second.stats.outboxDepth, 0);
    // Attempts made before the restart count: the first delivery attempt now is not #1.
    assert.ok((up.attempts[0]?.attempt ?? 0) > 1);
    await second.notify(alert({ key: 'k0' }));
    assert.equal(suppressed.at(-1)?.reason, 'duplicate');
    await second.stop();

    // A third start remembers the announcements (kept through compaction) and owes nothing:
    // the same observation replayed is a duplicate; a later one is news (see the events test).
    const thirdChannel = new MemoryChannel();
    const third = make(thirdChannel);
    const again: SuppressedEvent[] = [];
    third.on('suppressed', (e) => again.push(e));
    await third.start();
    assert.equal(third.stats.outboxDepth, 0);
    const replayed = up.alerts.find((a) => a.key === 'k3');
    assert.ok(replayed);
    await third.notify(replayed);
    assert.equal(again.at(-1)?.reason, 'duplicate');
    await third.flush();
    assert.equal(thirdChannel.sent.length, 0);
    await third.stop();
  });

  it('a resolved notice resumed after a restart still threads under its firing message', async () => {
    const ch = new MemoryChannel();
    const first = make(ch, { outbox: { directory: dir, maxAttempts: 1000 } });
    await first.start();
    const firing = alert({ key: 'disk:/' });
    await first.notify(firing);
    await first.flush();
    for (let i = 0; i < 1000; i++) ch.script.push(outage());
    await first.notify(resolveAlert(firing));
    await first.stop();
    const up = new MemoryChannel();
    const second = make(up);
    await second.start();
    await second.flush();
    await second.stop();
    assert.equal(up.sent.length, 1);
    assert.equal(up.sent[0]?.status, 'resolved');
    assert.equal(up.sent[0]?.threadRef, 'memory-1', "the firing's receipt from the first process");
  });

  it('with an outbox, a full channel queue delays alerts instead of dropping them', async () => {
    const ch = new MemoryChannel();
    let release!: () => void;
    ch.gate = new Promise<void>((resolve) => (release = resolve));
    const notifier = make(ch, { maxQueue: 2, maxGroupSize: 1 });
    const suppressed: SuppressedEvent[] = [];
    notifier.on('suppressed', (e) => suppressed.push(e));
    await notifier.start();
    for (let i = 0; i < 20; i++) await notifier.notify(alert({ title: `q${i}` }));
    const flushed = notifier.flush();
    await until(() => ch.attempts.length === 1);
    assert.equal(notifier.stats.pending, 20);
    ch.gate = undefined;
    release();
    await flushed;
    assert.equal(suppressed.length, 0);
    assert.deepEqual(new Set(ch.alerts.map((a) => a.title)).size, 20);
    assert.equal(notifier.stats.outboxDepth, 0);
    await notifier.stop();
  });

  it('start() fails with an IoError when the outbox directory cannot be created', async () => {
    await writeFile(join(dir, 'a-file'), 'x');
    const notifier = make(new MemoryChannel(), { outbox: { directory: join(dir, 'a-file', 'outbox') } });
    await assert.rejects(notifier.start(), (e: unknown) => e instanceof IoError && e.path === join(dir, 'a-file', 'outbox'));
    assert.equal(notifier.state, 'stopped');
  });

  it('a full disk: alerts are still delivered from memory, an error says durability is lost, and what reached the disk survives a restart', async () => {
    const small = join(dir, 'small');
    await mkdir(small);
    // Root is required (and granted in CI): a real file system that really fills up.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', small], { stdio: 'ignore' });
    const hook = await FakeHook.start();
    const notifiers: Notifier[] = [];
    try {
      const outbox = { directory: join(small, 'outbox') };
      const options = { outbox, groupWait: 0, persistent: true, retry: { initialDelay: 1, maxDelay: 5 }, stopTimeout: 50 } as const;
      hook.status = 503; // the peer is down: everything waits in the outbox until the disk is full
      const first = new Notifier({ channels: [new WebhookChannel({ url: hook.url })], ...options });
      notifiers.push(first);
      const errors: Error[] = [];
      first.on('error', (e) => errors.push(e));
      await first.start();
      const titles: string[] = [];
      for (let i = 0; i < 60; i++) {
        const a = alert({ title: `fill ${i}`, summary: 'x'.repeat(2000) });
        await first.notify(a); // never rejects: a full disk must not silence alerting
        titles.push(a.title);
      }
      assert.equal(errors.length, 1, 'one error for the outage, not one per alert');
      assert.ok(errors[0] instanceof IoError && /delivered from memory/.test(errors[0].message), String(errors[0]));
      assert.equal(errors[0].errno, 'ENOSPC');
      const durable = first.stats.outboxDepth;
      assert.ok(durable > 5 && durable < 60, `${durable} of 60 on disk`);
      const health = first.health();
      assert.equal(health.state, 'degraded');
      assert.match(health.checks.find((c) => c.name === 'outbox')?.message ?? '', /not writable, delivering from memory/);

      hook.status = 204; // the peer is back: every alert arrives, on disk or not
      await first.flush();
      assert.deepEqual(new Set(hook.titles), new Set(titles));
      await first.stop();

      // What reached the disk was delivered; a done-record the full disk refused costs at
      // most a duplicate after a restart (at-least-once), never an alert nobody accepted.
      const before = hook.received.length;
      const second = new Notifier({ channels: [new WebhookChannel({ url: hook.url })], ...options });
      notifiers.push(second);
      await second.start();
      await second.flush();
      assert.equal(second.stats.outboxDepth, 0);
      await second.stop();
      for (const title of hook.titles.slice(before)) assert.ok(titles.includes(title), title);
    } finally {
      for (const n of notifiers) await n.stop();
      await hook.close();
      execFileSync('umount', ['-l', small]);
    }
  });

  it('a full disk during an outage: what reached the disk is delivered after a restart', async () => {
    const small = join(dir, 'small');
    await mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', small], { stdio: 'ignore' });
    const hook = await FakeHook.start();
    const notifiers: Notifier[] = [];
    try {
      const outbox = { directory: join(small, 'outbox') };
      const options = { outbox, groupWait: 0, persistent: true, retry: { initialDelay: 1, maxDelay: 5 }, stopTimeout: 50 } as const;
      hook.status = 503;
      const first = new Notifier({ channels: [new WebhookChannel({ url: hook.url })], ...options });
      notifiers.push(first);
      first.on('error', () => {});
      const failed: FailedEvent[] = [];
      first.on('failed', (e) => failed.push(e));
      await first.start();
      for (let i = 0; i < 60; i++) await first.notify(alert({ title: `fill ${i}`, summary: 'x'.repeat(2000) }));
      const durable = first.stats.outboxDepth;
      const onDisk = (await readFile(join(small, 'outbox', 'outbox.jsonl'), 'utf8')).split('\n').flatMap((l) => {
        try {
          const record = JSON.parse(l) as { t: string; alert: { title: string } };
          return record.t === 'a' ? [record.alert.title] : [];
        } catch {
          return []; // the line the full disk cut short: its notify() fell back to memory
        }
      });
      await first.stop();
      // The others lived in memory only: stop() says so instead of pretending.
      assert.equal(failed.flatMap((f) => f.alerts).length, 60 - durable);

      hook.status = 204;
      const second = new Notifier({ channels: [new WebhookChannel({ url: hook.url })], ...options });
      notifiers.push(second);
      await second.start();
      await second.flush();
      await second.stop();
      assert.deepEqual(new Set(hook.titles), new Set(onDisk));
    } finally {
      for (const n of notifiers) await n.stop();
      await hook.close();
      execFileSync('umount', ['-l', small]);
    }
  });

  it('moves permanent failures, exhausted retries and expired entries to the dead-letter file', async () => {
    const ch = new MemoryChannel();
    ch.script.push(new DeliveryError('channel_not_found', { channel: 'memory', retryable: false }));
    ch.script.push(outage(), outage(), outage());
    const clock = { now: 1_000_000 };
    const notifier = make(ch, { outbox: { directory: dir, maxAttempts: 3, ttl: 60_000 }, clock: () => clock.now });
    const failed: FailedEvent[] = [];
    notifier.on('failed', (e) => failed.push(e));
    await notifier.start();
    await notifier.notify(alert({ title: 'permanent' }));
    await notifier.flush();
    await notifier.notify(alert({ title: 'exhausted' }));
    await notifier.flush();
    // The next one waits in a slow delivery while the clock passes the TTL.
    let release!: () => void;
    ch.gate = new Promise<void>((resolve) => (release = resolve));
    await notifier.notify(alert({ title: 'first' }));
    await notifier.notify(alert({ title: 'expired', rule: 'other' }));
    await until(() => ch.attempts.at(-1)?.notification.alerts[0]?.title === 'first');
    clock.now += 120_000;
    ch.gate = undefined;
    release();
    await notifier.flush();
    await notifier.stop();
    assert.deepEqual(
      failed.map((f) => [f.alerts[0]?.title, f.permanent]),
      [
        ['permanent', true],
        ['exhausted', false],
        ['expired', false],
      ],
    );
    const dead = await lines('dead-letter.jsonl');
    assert.deepEqual(
      dead.map((d) => (d.alert as { title: string }).title),
      ['permanent', 'exhausted', 'expired'],
    );
    assert.match(String(dead[0]?.reason), /permanent: channel_not_found/);
    assert.equal(dead[1]?.attempts, 3);
    assert.match(String(dead[2]?.reason), /ttl/);
    assert.deepEqual(
      ch.alerts.map((a) => a.title),
      ['first'],
    );
  });

  it('compacts the journal and skips a torn last line', async () => {
    const ch = new MemoryChannel();
    const notifier = make(ch, { outbox: { directory: dir, compactAfter: 10 }, repeatInterval: 0 });
    await notifier.start();
    for (let i = 0; i < 50; i++) {
      await notifier.notify(alert({ key: 'same' }));
      await notifier.flush();
    }
    await notifier.stop();
    const records = await lines();
    assert.ok(records.length <= 3, `compacted to ${records.length} records`);
    assert.ok(
      records.every((r) => r.t === 's'),
      'only the dedup memory is left',
    );
    await appendFile(join(dir, 'outbox.jsonl'), '{"t":"a","id":"torn","al');
    const logger = recordingLogger();
    const next = make(new MemoryChannel(), { logger });
    await next.start();
    assert.equal(next.stats.outboxDepth, 0);
    assert.ok(logger.lines.some((l) => /skipped unreadable records/.test(l)));
    await next.stop();
  });

  it('null, garbage and unexpected lines never crash start(): they are skipped and kept aside in .corrupt, the rest is delivered', async () => {
    const hook = await FakeHook.start();
    try {
      const channel = (): WebhookChannel => new WebhookChannel({ url: hook.url, name: 'memory' });
      hook.status = 503;
      const first = new Notifier({ channels: [channel()], outbox: { directory: dir }, groupWait: 0, stopTimeout: 20, retry: { initialDelay: 1, maxDelay: 2 } });
      await first.start();
      await first.notify(alert({ title: 'before the damage' }));
      await first.stop();
      const bad = [
        'null',
        '[1,2]',
        '42',
        '"text"',
        '{"t":"zz","id":"x"}',
        '{"t":"a","id":"y","at":1,"alert":null,"ch":["memory"]}',
        '{"t":"d"}',
        '\u0000\u00ff binary',
        '{"t":"a","id":"torn","al',
      ];
      await appendFile(join(dir, 'outbox.jsonl'), `${bad.join('\n')}\n`);
      await appendFile(
        join(dir, 'outbox.jsonl'),
        `${JSON.stringify({ t: 'a', id: 'after', at: Date.now(), alert: { ...alert({ title: 'after the damage' }), time: new Date().toISOString() }, ch: ['memory'] })}\n`,
      );

      hook.status = 204;
      const logger = recordingLogger();
      const second = new Notifier({ channels: [channel()], outbox: { directory: dir }, groupWait: 0, logger });
      const errors: Error[] = [];
      second.on('error', (e) => errors.push(e));
      await second.start();
      await second.flush();
      await second.stop();
      assert.deepEqual(errors, []);
      assert.deepEqual(hook.titles.sort(), ['after the damage', 'before the damage']);
      const kept = (await readFile(join(dir, 'outbox.jsonl.corrupt'), 'utf8')).split('\n').filter(Boolean);
      assert.deepEqual(kept, bad, 'every unreadable line kept, byte for byte');
      assert.ok(logger.lines.some((l) => /kept them aside/.test(l) && l.includes('"count":9')));
      assert.ok(!(await readFile(join(dir, 'outbox.jsonl'), 'utf8')).includes('null'), 'compaction dropped them from the journal');
    } finally {
      await hook.close();
    }
  });

  it('refuses to share an outbox with a live Notifier, and takes over a stale lock', async () => {
    const a = make(new MemoryChannel());
    await a.start();
    const b = make(new MemoryChannel());
    await assert.rejects(b.start(), (e: unknown) => e instanceof StateError && /in use by process/.test(e.message));
    await a.stop();
    // A lock left by a process that no longer exists (pid far above pid_max) is stale.
    await writeFile(join(dir, 'outbox.lock'), '4194999\n');
    const c = make(new MemoryChannel());
    await c.start();
    await c.stop();
    assert.ok(!(await readdir(dir)).includes('outbox.lock'), 'unlocked on stop');
    // A container restarts its app as the same pid (often 1): same pid, another start time, stale.
    const ownStart = await processStart(process.pid);
    assert.ok(ownStart !== undefined);
    await writeFile(join(dir, 'outbox.lock'), JSON.stringify({ pid: process.pid, start: ownStart - 1 }));
    const d = make(new MemoryChannel());
    await d.start();
    const lock = JSON.parse(await readFile(join(dir, 'outbox.lock'), 'utf8')) as { pid: number; start: number };
    assert.deepEqual(lock, { pid: process.pid, start: ownStart }, 'the lock records pid and start time');
    await d.stop();
    // A reused pid: a live, unrelated process (our parent here) with another start time is not the holder.
    const parentStart = await processStart(process.ppid);
    assert.ok(parentStart !== undefined);
    await writeFile(join(dir, 'outbox.lock'), JSON.stringify({ pid: process.ppid, start: parentStart + 12345 }));
    const e = make(new MemoryChannel());
    await e.start();
    await e.stop();
    // The same live process (pid and start time match) is respected, as is an old pid-only lock.
    await writeFile(join(dir, 'outbox.lock'), JSON.stringify({ pid: process.ppid, start: parentStart }));
    await assert.rejects(make(new MemoryChannel()).start(), /in use by process/);
    await writeFile(join(dir, 'outbox.lock'), `${process.ppid}\n`);
    await assert.rejects(make(new MemoryChannel()).start(), /in use by process/);
    await rm(join(dir, 'outbox.lock'));
  });

  it('survives a crash between accept and delivery (SIGKILL): a new Notifier delivers every alert', async () => {
    const script = fileURLToPath(new URL('fixtures/crash-child.ts', import.meta.url));
    const hook = await FakeHook.start();
    hook.hang = true; // the peer accepts connections and never answers
    const child = spawn(process.execPath, ['--import=tsx/esm', script, dir, '25', hook.url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        if (out.includes('accepted')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    assert.ok((await readdir(dir)).includes('outbox.lock'), 'the killed process could not unlock');

    hook.hang = false;
    try {
      const notifier = new Notifier({ channels: [new WebhookChannel({ url: hook.url, name: 'hook' })], outbox: { directory: dir }, groupWait: 0 });
      notifier.on('error', (e) => assert.fail(e));
      await notifier.start();
      await notifier.flush();
      await notifier.stop();
      const titles = new Set(hook.titles);
      assert.equal(titles.size, 25);
      for (let i = 0; i < 25; i++) assert.ok(titles.has(`SSH brute force #${i}`));
    } finally {
      await hook.close();
    }
  });
});
