import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AbortedError, Component, StateError, type BaseEvents, type ComponentOptions } from '../../src/index.js';
import { runScript } from '../helpers/run-script.js';

const fixture = new URL('fixtures/ticking-component.ts', import.meta.url);

interface ProbeEvents extends BaseEvents {
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
    await new Promise((resolve) => setTimeout(resolve, 30));
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

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const probe = new Probe({ signal: controller.signal });
    await probe.start();
    controller.abort();
    await probe.stop();
    assert.equal(probe.state, 'stopped');
    assert.deepEqual(probe.calls, ['start', 'stop']);
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
    const ended = (async () => {
      for await (const _ of probe.events('tick')) {
        // keep consuming until the component stops
      }
      return true;
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await probe.stop();
    assert.equal(await ended, true);
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
    // Wait until the child reports it is running (start-up time varies with load), then
    // give it a full second in which an unheld loop would certainly have ended.
    const child = spawn(process.execPath, ['--import=tsx/esm', fileURLToPath(fixture), 'persistent-no-stop'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let stdout = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.includes('state=running')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal(child.exitCode, null, 'a persistent timer holds the loop until stop()');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
