import { EventEmitter } from 'eventemitter3';
import { ListenerError } from './errors.js';

/**
 * The events every hostwarden emitter has. Component event maps extend it, so
 * `'error'` always carries exactly one `Error`.
 */
export interface BaseEvents {
  /** Something went wrong that the component could not handle itself; it goes on where it can. */
  error: [error: Error];
}

/** Options of {@link HostwardenEmitter.events}. */
export interface EventIteratorOptions {
  /** Ends the iteration (cleanly, without throwing) when aborted. */
  readonly signal?: AbortSignal;
}

type Names<E extends BaseEvents> = EventEmitter.EventNames<E>;
type Args<E extends BaseEvents, K extends Names<E>> = EventEmitter.EventArgs<E, K>;
/** The payload of event `K` of event map `E`: each hostwarden event carries one object. */
export type EventPayload<E extends BaseEvents, K extends EventEmitter.EventNames<E>> = EventEmitter.EventArgs<E, K>[0];

/**
 * A typed eventemitter3 emitter that never loses an error.
 *
 * eventemitter3 drops an `'error'` event that has no listener; Node's own emitter
 * throws it. A security monitor must not fail silently, so here an unlistened
 * `'error'` is rethrown on the next tick, where it surfaces as an uncaught exception
 * (and crashes the process unless the application handles `uncaughtException`).
 *
 * @typeParam E - the event map: labelled tuples, one payload each.
 */
export class HostwardenEmitter<E extends BaseEvents> extends EventEmitter<E> {
  readonly #iterators = new Set<() => void>();

  /**
   * Emits an event. An `'error'` with no listener is rethrown asynchronously
   * instead of being dropped.
   */
  override emit<K extends Names<E>>(event: K, ...args: Args<E, K>): boolean {
    if (event === 'error' && this.listenerCount(event) === 0) {
      const error: unknown = args[0];
      process.nextTick(() => {
        throw error;
      });
      return false;
    }
    return super.emit(event, ...args);
  }

  /**
   * Iterates over the payloads of one event as they come. The iteration ends when
   * `signal` aborts, when the loop breaks, or when the component stops; payloads
   * emitted while the loop body runs are buffered, not lost.
   *
   * @example
   * for await (const alert of watcher.events('alert', { signal })) {
   *   console.log(alert.title);
   * }
   */
  events<K extends Names<E>>(event: K, options: EventIteratorOptions = {}): AsyncIterableIterator<EventPayload<E, K>> {
    const { signal } = options;
    const buffer: EventPayload<E, K>[] = [];
    let wake: (() => void) | undefined;
    let done = signal?.aborted ?? false;

    const listener = ((...args: Args<E, K>) => {
      buffer.push(args[0] as EventPayload<E, K>);
      wake?.();
    }) as EventEmitter.EventListener<E, K>;
    const finish = (): void => {
      if (!done) {
        done = true;
        this.off(event, listener);
        signal?.removeEventListener('abort', finish);
        this.#iterators.delete(finish);
      }
      wake?.();
    };

    if (!done) {
      this.on(event, listener);
      signal?.addEventListener('abort', finish, { once: true });
      this.#iterators.add(finish);
    }

    const iterator: AsyncIterableIterator<EventPayload<E, K>> = {
      next: async (): Promise<IteratorResult<EventPayload<E, K>>> => {
        while (buffer.length === 0 && !done) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
        }
        // After an abort, what was already buffered is dropped: the caller asked to stop.
        if (done) {
          buffer.length = 0;
          return { done: true, value: undefined };
        }
        return { done: false, value: buffer.shift() as EventPayload<E, K> };
      },
      return: async (): Promise<IteratorResult<EventPayload<E, K>>> => {
        finish();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }

  /**
   * Emits an event to user listeners, catching what a listener throws so one bad
   * handler cannot break the component; the throw becomes an `'error'` event
   * ({@link ListenerError}). Returns false when a listener threw.
   */
  protected emitSafely<K extends Names<E>>(event: K, ...args: Args<E, K>): boolean {
    try {
      this.emit(event, ...args);
      return true;
    } catch (cause) {
      if (event === 'error') throw cause;
      this.emitError(new ListenerError(String(event), cause));
      return false;
    }
  }

  /** Emits `'error'` (rethrown asynchronously when nobody listens). */
  protected emitError(error: Error): void {
    (this.emit as unknown as (event: 'error', error: Error) => boolean)('error', error);
  }

  /** Ends every open {@link HostwardenEmitter.events} iteration; called when a component stops. */
  protected endEventIterators(): void {
    for (const finish of [...this.#iterators]) finish();
  }
}
