import { EventEmitter } from 'eventemitter3';
import { ListenerError } from './errors.js';
import type { Health } from './health.js';
import type { Warning } from './warning.js';

/**
 * The events every hostwarden emitter has. Event maps extend it, so `'error'` always
 * carries exactly one `Error` and `'health'` one {@link Health}.
 */
export interface BaseEvents {
  /** Something went wrong that the component could not handle itself; it goes on where it can. */
  error: [error: Error];
  /** The component's overall health state changed (see `Component.health()`). */
  health: [health: Health];
}

/**
 * The event map every hostwarden class extends: {@link BaseEvents} plus `'warning'` in
 * the one {@link Warning} shape. (`'warning'` is not in `BaseEvents` itself only so that
 * parts still declaring their own v1 warning shape keep compiling while they migrate.)
 */
export interface HostwardenEvents extends BaseEvents {
  /** Something was skipped or is not right, and the component goes on (an unreadable file, a failing source). */
  warning: [warning: Warning];
}

/** No listener threw (shared: most emits; never written to). */
const NO_FAILURES: readonly unknown[] = Object.freeze([]);

// eventemitter3's listener record: `_events[name]` holds one of these or an array of them.
interface ListenerRecord {
  readonly fn: (...args: unknown[]) => unknown;
  readonly context: unknown;
  readonly once: boolean;
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
 * Listeners are called one by one, each isolated: a throwing listener becomes a
 * {@link ListenerError} and the listeners after it (a Notifier among them) still run.
 *
 * @typeParam E - the event map: labelled tuples, one payload each.
 */
export class HostwardenEmitter<E extends BaseEvents> extends EventEmitter<E> {
  readonly #iterators = new Set<() => void>();
  // Set when a listener threw during an emit, for emitSafely()'s answer.
  #lastEmitFailed = false;

  /**
   * Emits an event, calling the listeners one by one. A listener that throws does not
   * keep the others from hearing the event: each throw is reported as an `'error'` event
   * carrying a {@link ListenerError} (a throw from an `'error'` listener is rethrown
   * asynchronously, after the other listeners ran). An `'error'` with no listener is
   * rethrown asynchronously instead of being dropped.
   *
   * @returns whether the event had listeners.
   */
  override emit<K extends Names<E>>(event: K, ...args: Args<E, K>): boolean {
    if (event === 'error' && this.listenerCount(event) === 0) {
      const error: unknown = args[0];
      process.nextTick(() => {
        throw error;
      });
      return false;
    }
    const failures = this.#callEach(event, args);
    if (failures === undefined) return false;
    for (let i = 0; i < failures.length; i++) {
      const cause = failures[i];
      if (event === 'error') {
        process.nextTick(() => {
          throw cause;
        });
      } else {
        this.#lastEmitFailed = true;
        this.emitError(new ListenerError(String(event), cause));
      }
    }
    return true;
  }

  // eventemitter3 (pinned to v5) stops at the first throwing listener; this is its own emit
  // loop with a try/catch around each listener, honouring `once` and the listener context.
  #callEach(event: string | symbol, args: readonly unknown[]): readonly unknown[] | undefined {
    const prefix = EventEmitter.prefixed;
    const key = typeof event === 'string' && typeof prefix === 'string' ? prefix + event : event;
    const events = (this as unknown as { _events: Record<string | symbol, ListenerRecord | ListenerRecord[] | undefined> })._events;
    const entry = events[key];
    if (entry === undefined) return undefined;
    // A copy: a listener may add or remove listeners while they are called. (Index loops and
    // no arrays made for the usual single listener: this runs for every match of a busy log.)
    if (!Array.isArray(entry)) return this.#call(event, entry, args, NO_FAILURES);
    const records = entry.slice();
    let failures = NO_FAILURES;
    for (let i = 0; i < records.length; i++) failures = this.#call(event, records[i] as ListenerRecord, args, failures);
    return failures;
  }

  /** Calls one listener; returns `failures`, or a copy with what it threw added. */
  #call(event: string | symbol, record: ListenerRecord, args: readonly unknown[], failures: readonly unknown[]): readonly unknown[] {
    if (record.once) this.removeListener(event as Names<E>, record.fn as never, undefined, true);
    try {
      record.fn.apply(record.context, args as unknown[]);
      return failures;
    } catch (cause) {
      return [...failures, cause];
    }
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
   * Emits an event and says whether every listener ran without throwing. (Every emit is
   * isolated per listener now; this remains for callers that want the answer.)
   */
  protected emitSafely<K extends Names<E>>(event: K, ...args: Args<E, K>): boolean {
    this.#lastEmitFailed = false;
    this.emit(event, ...args);
    const failed = this.#lastEmitFailed;
    this.#lastEmitFailed = false;
    return !failed;
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
