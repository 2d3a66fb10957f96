import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { AbortedError } from '../../src/core/errors.js';
import { MAX_DELAY_MS, repeat, schedule, sleep, systemClock } from '../../src/core/clock.js';

describe('schedule()', () => {
  it('does not fire a 2^31 ms delay after 1 ms (Node would clamp it), but fires it on time', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let fired = 0;
    schedule(() => fired++, 2 ** 31);
    t.mock.timers.tick(1);
    assert.equal(fired, 0, 'a delay above MAX_DELAY_MS must not become 1 ms');
    t.mock.timers.tick(MAX_DELAY_MS - 1);
    assert.equal(fired, 0, 'not yet: one more millisecond to go');
    t.mock.timers.tick(1);
    assert.equal(fired, 1);
  });

  it('chains delays of many timer lengths (30 days) and fires once', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const day = 86_400_000;
    let fired = 0;
    schedule(() => fired++, 30 * day);
    // Mock timers run a tick's callbacks at the tick's end time, so step through the chain.
    t.mock.timers.tick(MAX_DELAY_MS);
    assert.equal(fired, 0);
    t.mock.timers.tick(30 * day - MAX_DELAY_MS - 1);
    assert.equal(fired, 0);
    t.mock.timers.tick(1);
    assert.equal(fired, 1);
    t.mock.timers.tick(60 * day);
    assert.equal(fired, 1);
  });

  it('can be cancelled before, and between, the chained steps', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let fired = 0;
    const cancel = schedule(() => fired++, MAX_DELAY_MS * 2);
    t.mock.timers.tick(MAX_DELAY_MS + 5);
    cancel();
    cancel();
    t.mock.timers.tick(MAX_DELAY_MS * 2);
    assert.equal(fired, 0);
  });

  it('unrefs the timer unless persistent', () => {
    const seen: boolean[] = [];
    const original = globalThis.setTimeout;
    const spy = mock.method(globalThis, 'setTimeout', (...args: Parameters<typeof setTimeout>) => {
      const timer = original(...args);
      queueMicrotask(() => seen.push(timer.hasRef()));
      return timer;
    });
    const a = schedule(() => {}, 10_000);
    const b = schedule(() => {}, 10_000, { persistent: true });
    spy.mock.restore();
    return new Promise<void>((resolve) =>
      queueMicrotask(() => {
        a();
        b();
        assert.deepEqual(seen, [false, true]);
        resolve();
      }),
    );
  });

  it('rejects NaN instead of firing at once', () => {
    assert.throws(() => schedule(() => {}, Number.NaN), TypeError);
  });
});

describe('sleep()', () => {
  it('resolves after the delay', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let done = false;
    const p = sleep(1000).then(() => {
      done = true;
    });
    t.mock.timers.tick(999);
    await Promise.resolve();
    assert.equal(done, false);
    t.mock.timers.tick(1);
    await p;
    assert.equal(done, true);
  });

  it('rejects with AbortedError carrying the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const p = sleep(60_000, { signal: controller.signal });
    controller.abort(new Error('shutting down'));
    const error = await p.then(
      () => assert.fail('must reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AbortedError);
    assert.equal((error.cause as Error).message, 'shutting down');
    await assert.rejects(sleep(1, { signal: controller.signal }), AbortedError);
  });
});

describe('systemClock', () => {
  it('reads Date.now at call time, so mock timers move it', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    assert.equal(systemClock(), 1_000_000);
    t.mock.timers.tick(5000);
    assert.equal(systemClock(), 1_005_000);
  });
});

describe('repeat()', () => {
  it('runs on every interval, chains intervals above MAX_DELAY_MS, and stops when cancelled', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let runs = 0;
    const cancel = repeat(() => runs++, MAX_DELAY_MS + 1);
    t.mock.timers.tick(1000);
    assert.equal(runs, 0, 'a 25-day interval does not run back to back');
    t.mock.timers.tick(MAX_DELAY_MS - 1000);
    t.mock.timers.tick(1);
    assert.equal(runs, 1);
    cancel();
    t.mock.timers.tick(MAX_DELAY_MS * 3);
    assert.equal(runs, 1);
  });
});
