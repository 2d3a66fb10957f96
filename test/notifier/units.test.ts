import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryError, Notifier } from '../../src/index.js';
import { DedupMemory } from '../../src/notifier/dedup.js';
import { TokenBucket } from '../../src/notifier/token-bucket.js';
import { MemoryChannel, alert } from './helpers.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at the rate; a Retry-After empties it', () => {
    let now = 0;
    const bucket = new TokenBucket({ perSecond: 1, burst: 3 }, () => now);
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0]);
    assert.equal(bucket.take(), 1000, 'the fourth waits a second');
    now += 500;
    assert.equal(bucket.take(), 500);
    now += 500;
    assert.equal(bucket.take(), 0);
    now += 10_000;
    assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take() > 0], [0, 0, 0, true], 'never more than the burst');
    now += 3000;
    bucket.pause(5000);
    assert.equal(bucket.take(), 6000, 'paused 5 s, then one token takes 1 s');
  });
});

describe('DedupMemory', () => {
  it('forgets keys past the TTL and the least recently seen beyond maxKeys', () => {
    const memory = new DedupMemory({ maxKeys: 3, ttl: 1000, repeatInterval: 100 });
    assert.equal(memory.announce('a', 'slack', 'warning', 0, 0), true);
    assert.equal(memory.announce('a', 'slack', 'warning', 50, 50), false);
    assert.equal(memory.announce('a', 'slack', 'warning', 100, 100), true, 'repeat after the interval');
    memory.announce('b', 'slack', 'warning', 200, 200);
    memory.announce('c', 'slack', 'warning', 300, 300);
    memory.announce('a', 'email', 'critical', 400, 400); // touches a: b is now the oldest
    memory.announce('d', 'slack', 'warning', 500, 500);
    assert.equal(memory.size, 3);
    assert.equal(memory.get('b', 'slack'), undefined);
    assert.ok(memory.get('a', 'email'));
    memory.sweep(1350);
    assert.deepEqual([memory.get('a', 'email') !== undefined, memory.get('c', 'slack') !== undefined, memory.get('d', 'slack') !== undefined], [true, false, true]);
    assert.deepEqual([...memory.snapshot()].map((r) => `${r.key}/${r.channel}`).sort(), ['a/email', 'a/slack', 'd/slack']);
    assert.deepEqual([...(memory.resolve('a')?.keys() ?? [])].sort(), ['email', 'slack']);
    assert.equal(memory.get('a', 'slack'), undefined);
  });

  it('memory from an earlier run suppresses only what that run already reported', () => {
    const before = new DedupMemory({ maxKeys: 10, ttl: 100_000, repeatInterval: 10_000 });
    assert.equal(before.announce('file:x', 'slack', 'critical', 1000, 900), true);
    const after = new DedupMemory({ maxKeys: 10, ttl: 100_000, repeatInterval: 10_000 });
    after.load(before.snapshot());
    assert.equal(after.announce('file:x', 'slack', 'critical', 2000, 900), false, 'the same observation replayed is a duplicate');
    assert.equal(after.announce('file:x', 'slack', 'critical', 2000, 1500), true, 'observed after the earlier run announced it: new');
    assert.equal(after.announce('file:x', 'slack', 'critical', 2100, 1600), false, 'within this run the repeat interval applies again');
  });
});

describe('retry backoff', () => {
  it('grows by factor up to maxDelay, with the configured jitter', async () => {
    const ch = new MemoryChannel();
    for (let i = 0; i < 4; i++) ch.script.push(new DeliveryError('503', { channel: 'memory', retryable: true, status: 503 }));
    const notifier = new Notifier({ channels: [ch], groupWait: 0, persistent: true, random: () => 0.5, retry: { initialDelay: 4, factor: 2, maxDelay: 10, maxAttempts: 5 } });
    const delays: number[] = [];
    notifier.on('retry', (e) => delays.push(e.delay));
    await notifier.start();
    await notifier.notify(alert());
    await notifier.flush();
    await notifier.stop();
    // Ceilings 4, 8, 10, 10; half fixed plus half × random(0.5) = 0.75 × ceiling.
    assert.deepEqual(delays, [3, 6, 8, 8]);
    assert.equal(ch.sent.length, 1);
  });
});
