import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostwardenEmitter, IoError, ListenerError, type BaseEvents } from '../../src/index.js';
import { runScript } from '../helpers/run-script.js';

interface TestEvents extends BaseEvents {
  /** A numbered payload. */
  item: [item: { n: number }];
}

class Source extends HostwardenEmitter<TestEvents> {
  push(n: number): boolean {
    return this.emitSafely('item', { n });
  }
  fail(error: Error): void {
    this.emitError(error);
  }
  end(): void {
    this.endEventIterators();
  }
}

describe("the 'error' guard", () => {
  it('delivers an error to a listener and does not throw', () => {
    const source = new Source();
    const seen: Error[] = [];
    source.on('error', (error) => seen.push(error));
    const error = new IoError('gone', { path: '/x' });
    assert.doesNotThrow(() => source.fail(error));
    assert.deepEqual(seen, [error]);
  });

  it('surfaces an unlistened error as an uncaught exception', async () => {
    const result = await runScript(new URL('fixtures/unlistened-error.ts', import.meta.url));
    assert.equal(result.timedOut, false);
    assert.notEqual(result.code, 0, 'the process must fail');
    assert.match(result.stdout, /emitted/, 'the error is rethrown asynchronously, after the emitting call returned');
    assert.match(result.stderr, /IoError: tail failed: \/var\/log\/auth\.log/);
  });

  it('turns a throwing listener into an error event and keeps going', () => {
    const source = new Source();
    const errors: Error[] = [];
    source.on('error', (error) => errors.push(error));
    source.on('item', ({ n }) => {
      if (n === 1) throw new Error('handler bug');
    });
    assert.equal(source.push(1), false);
    assert.equal(source.push(2), true);
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ListenerError);
    assert.equal(errors[0].code, 'ERR_LISTENER');
    assert.equal(errors[0].event, 'item');
    assert.equal((errors[0].cause as Error).message, 'handler bug');
  });
});

describe('events()', () => {
  it('yields payloads in order, buffering those emitted while the consumer is busy', async () => {
    const source = new Source();
    const iterator = source.events('item');
    source.push(1);
    source.push(2);
    source.push(3);
    const got: number[] = [];
    for await (const { n } of iterator) {
      got.push(n);
      if (n === 3) break;
    }
    assert.deepEqual(got, [1, 2, 3]);
    assert.equal(source.listenerCount('item'), 0, 'breaking out of the loop unsubscribes');
  });

  it('ends when the signal aborts, and unsubscribes', async () => {
    const source = new Source();
    const controller = new AbortController();
    const got: number[] = [];
    const consumed = (async () => {
      for await (const { n } of source.events('item', { signal: controller.signal })) got.push(n);
      return 'ended';
    })();
    await new Promise((resolve) => setImmediate(resolve));
    source.push(1);
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    assert.equal(await consumed, 'ended');
    assert.deepEqual(got, [1]);
    assert.equal(source.listenerCount('item'), 0);
  });

  it('yields nothing for an already-aborted signal', async () => {
    const source = new Source();
    const iterator = source.events('item', { signal: AbortSignal.abort() });
    source.push(1);
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.equal(source.listenerCount('item'), 0);
  });

  it('ends when the emitter ends its iterators (as a component does on stop)', async () => {
    const source = new Source();
    const next = source.events('item').next();
    source.end();
    assert.deepEqual(await next, { done: true, value: undefined });
  });
});

describe('listener isolation', () => {
  it('a throwing listener registered first does not starve the listeners after it', () => {
    const source = new Source();
    const errors: Error[] = [];
    const heard: number[] = [];
    source.on('error', (error) => errors.push(error));
    source.on('item', () => {
      throw new Error('buggy handler');
    });
    source.on('item', ({ n }) => heard.push(n));
    source.push(1);
    source.emit('item', { n: 2 });
    assert.deepEqual(heard, [1, 2], 'the second listener hears every event');
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e instanceof ListenerError && e.event === 'item'));
  });

  it('keeps once() and the listener context working', () => {
    const source = new Source();
    const seen: string[] = [];
    const context = { name: 'ctx' };
    source.once('item', ({ n }) => seen.push(`once ${n}`));
    source.on(
      'item',
      function (this: typeof context, { n }) {
        seen.push(`${this.name} ${n}`);
      },
      context,
    );
    source.emit('item', { n: 1 });
    source.emit('item', { n: 2 });
    assert.deepEqual(seen, ['once 1', 'ctx 1', 'ctx 2']);
    assert.equal(source.listenerCount('item'), 1);
  });

  it('a listener removed by an earlier one during an emit still hears that emit (a snapshot)', () => {
    const source = new Source();
    const seen: string[] = [];
    const second = (): void => {
      seen.push('second');
    };
    source.on('item', () => {
      seen.push('first');
      source.off('item', second);
    });
    source.on('item', second);
    source.emit('item', { n: 1 });
    source.emit('item', { n: 2 });
    assert.deepEqual(seen, ['first', 'second', 'first']);
  });

  it('a single listener (the fast path): once, throwing, and one it adds during the emit', () => {
    const source = new Source();
    const errors: Error[] = [];
    const seen: string[] = [];
    source.on('error', (error) => errors.push(error));
    source.once('item', ({ n }) => {
      seen.push(`once ${n}`);
      source.on('item', ({ n: m }) => seen.push(`added ${m}`));
      throw new Error('once and throwing');
    });
    assert.equal(source.emit('item', { n: 1 }), true);
    assert.equal(source.emit('item', { n: 2 }), true);
    assert.deepEqual(seen, ['once 1', 'added 2'], 'the added listener hears the next emit only; the once listener is gone');
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof ListenerError && errors[0].event === 'item');
    assert.equal(source.listenerCount('item'), 1);
  });

  it('every throwing listener among several is reported, in order, and a clean emit reports none', () => {
    const source = new Source();
    const causes: unknown[] = [];
    source.on('error', (error) => causes.push((error as ListenerError).cause));
    const heard: number[] = [];
    source.on('item', () => {
      throw new Error('first');
    });
    source.on('item', ({ n }) => heard.push(n));
    source.on('item', ({ n }) => {
      if (n === 1) throw new Error('third');
    });
    source.push(1);
    source.push(2);
    assert.deepEqual(heard, [1, 2]);
    assert.deepEqual(
      causes.map((c) => (c as Error).message),
      ['first', 'third', 'first'],
    );
  });

  it("an 'error' listener that throws does not starve the next one; the throw surfaces asynchronously", async () => {
    const result = await runScript(new URL('fixtures/throwing-error-listener.ts', import.meta.url));
    assert.equal(result.timedOut, false);
    assert.match(result.stdout, /second heard: disk gone\nemitted/);
    assert.notEqual(result.code, 0, 'the throw is not swallowed');
    assert.match(result.stderr, /bad error handler/);
  });
});
