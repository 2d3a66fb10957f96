import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AbortedError, Component, StateError, type ComponentOptions, type Health, type HostwardenEvents } from '../../src/index.js';
import { MAX_DELAY_MS } from '../../src/core/clock.js';
import { createWarning } from '../../src/core/warning.js';
import { runScript } from '../helpers/run-script.js';

const fixture = new URL('fixtures/ticking-component.ts', import.meta.url);

interface ProbeEvents extends HostwardenEvents {
  /** One tick of the probe's timer. */
  tick: [info: { n: number }];
}

/** A component that records its lifecycle calls and owns a timer and a subscription. */
class Probe extends Component<ProbeEvents> {
  readonly calls: string[] = [];
  readonly upstream = new EventEmitter();
  failStart = false;
  #n = 0;

  // Persistent so that awaiting a tick keeps this test's own event loop alive.
  constructor(options: ComponentOptions = {}) {
    super({ persistent: true, ...options });
  }

  protected override async onStart(): Promise<void> {
    this.calls.push('start');
    this.setRepeating(() => this.emit('tick', { n: ++this.#n }), 5);
    this.listen(this.upstream, 'data', () => this.calls.push('data'));
    await new Promise((resolve) => setImmediate(resolve));
    if (this.failStart) throw new Error('cannot open');
  }

  protected override async onStop(): Promise<void> {
    this.calls.push('stop');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('Component lifecycle', () => {
  it('start() and stop() are idempotent and share one promise', async () => {
    const probe = new Probe();
    const a = probe.start();
    assert.equal(probe.state, 'starting');
    assert.equal(probe.start(), a);
    await a;
    assert.equal(probe.state, 'running');
    const s = probe.stop();
    assert.equal(probe.stop(), s);
    await s;
    await probe.stop();
    assert.equal(probe.state, 'stopped');
    assert.deepEqual(probe.calls, ['start', 'stop']);
  });

  it('stop() releases timers and listeners it registered', async () => {
    const probe = new Probe();
    await probe.start();
    await new Promise((resolve) => probe.once('tick', resolve));
    assert.equal(probe.upstream.listenerCount('data'), 1);
    await probe.stop();
    assert.equal(probe.upstream.listenerCount('data'), 0);
    let ticks = 0;
    probe.on('tick', () => ticks++);
    // Nothing to wait for in a timer that must not fire, so a running twin with the same
    // 5 ms timer measures the wait: once it has ticked 6 times, the stopped one would have too.
    const control = new Probe();
    await control.start();
    await new Promise<void>((resolve) => control.on('tick', ({ n }) => n === 6 && resolve()));
    await control.stop();
    assert.equal(ticks, 0, 'no timer fires after stop');
  });

  it('refuses to start again after stop', async () => {
    const probe = new Probe();
    await probe.start();
    await probe.stop();
    await assert.rejects(probe.start(), StateError);
  });

  it('stop() before start() is harmless and final', async () => {
    const probe = new Probe();
    await probe.stop();
    assert.deepEqual(probe.calls, []);
    await assert.rejects(probe.start(), StateError);
  });

  it('cleans up when start fails', async () => {
    const probe = new Probe();
    probe.failStart = true;
    await assert.rejects(probe.start(), /cannot open/);
    assert.equal(probe.state, 'stopped');
    assert.equal(probe.upstream.listenerCount('data'), 0);
  });

  it('stops by itself when its signal aborts (nobody calls stop())', { timeout: 20_000 }, async () => {
    const controller = new AbortController();
    // Not persistent: if the abort did nothing, the test fails instead of hanging on the timer.
    const probe = new Probe({ signal: controller.signal, persistent: false });
    await probe.start();
    // The 'health' event is the readiness signal: the abort alone must bring the
    // component to 'stopped', with its onStop run and its listeners released.
    const stopped = new Promise<void>((resolve) =>
      probe.on('health', (health) => {
        if (health.state === 'stopped') resolve();
      }),
    );
    controller.abort();
    await stopped;
    assert.equal(probe.state, 'stopped');
    assert.deepEqual(probe.calls, ['start', 'stop']);
    assert.equal(probe.upstream.listenerCount('data'), 0);
  });

  it('will not start with an aborted signal', async () => {
    const probe = new Probe({ signal: AbortSignal.abort() });
    await assert.rejects(probe.start(), AbortedError);
    assert.deepEqual(probe.calls, []);
  });

  it('supports await using', async () => {
    let probe: Probe | undefined;
    {
      await using p = new Probe();
      probe = p;
      await p.start();
    }
    assert.equal(probe.state, 'stopped');
  });

  it('ends open event iterators on stop', async () => {
    const probe = new Probe();
    await probe.start();
    let consuming!: () => void;
    const firstTick = new Promise<void>((resolve) => (consuming = resolve));
    const ended = (async () => {
      for await (const _ of probe.events('tick')) {
        consuming(); // keep consuming until the component stops
      }
      return true;
    })();
    await firstTick; // the iterator is running, not just created
    await probe.stop();
    assert.equal(await ended, true);
  });
});

/** A component whose health checks and timers a test drives directly. */
class Gauge extends Component<HostwardenEvents> {
  refreshes = 0;
  fired = 0;
  protected override async onStart(): Promise<void> {}
  protected override async onStop(): Promise<void> {}
  check(name: string, ok: boolean, message?: string): void {
    this.setHealthCheck(name, ok, message);
  }
  drop(name: string): void {
    this.removeHealthCheck(name);
  }
  warn(path: string): void {
    this.emitWarning(createWarning('unreadable', 'cannot read', { path }));
  }
  timer(ms: number): () => void {
    return this.setTimer(() => this.fired++, ms);
  }
  repeat(ms: number): () => void {
    return this.setRepeating(() => {
      this.fired++;
      if (this.fired === 2) throw new Error('one bad tick');
    }, ms);
  }
  now(): number {
    return this.clock();
  }
  protected override refreshHealth(): void {
    this.refreshes++;
  }
}

describe('health()', () => {
  it('is stopped before start, ok when running, degraded on a failing check, stopped after stop', async () => {
    const gauge = new Gauge();
    const events: string[] = [];
    gauge.on('health', (h: Health) => events.push(h.state));
    assert.deepEqual(gauge.health(), { state: 'stopped', checks: [] });
    await gauge.start();
    assert.equal(gauge.health().state, 'ok');
    gauge.check('source', true);
    gauge.check('file:/var/log/auth.log', false, 'missing\x1b[2J');
    const health = gauge.health();
    assert.equal(health.state, 'degraded');
    assert.deepEqual(health.checks, [
      { name: 'source', ok: true },
      { name: 'file:/var/log/auth.log', ok: false, message: 'missing\\x1b[2J' },
    ]);
    gauge.check('file:/var/log/auth.log', false, 'still missing');
    gauge.drop('file:/var/log/auth.log');
    await gauge.stop();
    assert.deepEqual(events, ['ok', 'degraded', 'ok', 'stopped'], "'health' fires on state changes only");
    assert.equal(gauge.health().state, 'stopped');
  });

  it('lets the component refresh time-dependent checks when asked', async () => {
    const gauge = new Gauge();
    await gauge.start();
    gauge.health();
    gauge.health();
    assert.equal(gauge.refreshes, 2);
    await gauge.stop();
  });
});

describe("'warning' and the clock", () => {
  it('emits the one Warning shape', () => {
    const gauge = new Gauge();
    const seen: unknown[] = [];
    gauge.on('warning', (w) => seen.push(w));
    gauge.warn('/var/log/a\nb');
    assert.deepEqual(seen, [{ code: 'unreadable', message: 'cannot read', path: '/var/log/a\nb', displayPath: '/var/log/a\\nb' }]);
  });

  it('reads the injected clock, or the system clock by default', (t) => {
    assert.equal(new Gauge({ clock: () => 42 }).now(), 42);
    t.mock.timers.enable({ apis: ['Date'], now: 7_000 });
    assert.equal(new Gauge().now(), 7_000);
  });
});

describe('setTimer / setRepeating', () => {
  it('setTimer chains a delay above 2^31 - 1 ms instead of firing after 1 ms', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const gauge = new Gauge();
    await gauge.start();
    gauge.timer(MAX_DELAY_MS + 10);
    t.mock.timers.tick(1);
    assert.equal(gauge.fired, 0, 'not clamped to 1 ms');
    t.mock.timers.tick(MAX_DELAY_MS - 1);
    t.mock.timers.tick(9);
    assert.equal(gauge.fired, 0);
    t.mock.timers.tick(1);
    assert.equal(gauge.fired, 1);
    await gauge.stop();
  });

  it('setRepeating keeps its rhythm after a throwing tick and stops with stop()', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const gauge = new Gauge();
    const errors: Error[] = [];
    gauge.on('error', (e) => errors.push(e));
    await gauge.start();
    gauge.repeat(1000);
    for (let i = 0; i < 3; i++) t.mock.timers.tick(1000);
    assert.equal(gauge.fired, 3);
    assert.equal(errors.length, 1);
    await gauge.stop();
    t.mock.timers.tick(5000);
    assert.equal(gauge.fired, 3);
  });
});

describe('timers and the event loop', () => {
  it('a stopped component leaves nothing that keeps the process alive', async () => {
    const result = await runScript(fixture, ['persistent-stop'], 30_000);
    assert.equal(result.timedOut, false, 'the child exits by itself');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /state=stopped/);
  });

  it('a running non-persistent component does not hold the process open either', async () => {
    const result = await runScript(fixture, ['running'], 30_000);
    assert.equal(result.timedOut, false);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /state=running/);
  });

  it('a running persistent component does keep the process alive (the control case)', async () => {
    // The child reports it is running, then prints every tick. An unheld loop ends right
    // after that report, so three ticks printed after it prove the timer holds the loop.
    const child = spawn(process.execPath, ['--import=tsx/esm', fileURLToPath(fixture), 'persistent-no-stop'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          stdout += chunk;
          const after = stdout.split('state=running')[1];
          if (after !== undefined && (after.match(/^tick=\d+$/gm) ?? []).length >= 3) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited early with ${code}; output:\n${stdout}`)));
      });
      assert.equal(child.exitCode, null, 'a persistent timer holds the loop until stop()');
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('shared options', () => {
  it('every Component checks signal, persistent, logger and clock, naming the option', () => {
    assert.throws(() => new Gauge({ persistent: 'yes' as unknown as boolean }), /Expected `persistent` to be a boolean, got "yes"/);
    assert.throws(() => new Gauge({ logger: { info() {} } as never }), /`logger`/);
    assert.throws(() => new Gauge({ signal: {} as never }), /`signal`/);
    assert.throws(() => new Gauge({ clock: 5 as never }), /`clock`/);
  });
});
