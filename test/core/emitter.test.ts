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
