import { repeat, schedule, systemClock, type CancelTimer, type Clock } from './clock.js';
import { AbortedError, InvalidOptionError, StateError } from './errors.js';
import { HostwardenEmitter, type BaseEvents } from './emitter.js';
import { summarizeHealth, type Health, type HealthCheck } from './health.js';
import { silentLogger, type Logger } from './logger.js';
import { safeText } from './text.js';
import { expectBoolean, expectLogger, expectSignal } from './validate.js';
import type { Warning } from './warning.js';

/** Options shared by every long-running hostwarden component. */
export interface ComponentOptions {
  /** Stops the component when aborted; `start()` rejects if it is already aborted. */
  readonly signal?: AbortSignal;
  /**
   * Keep the process alive while running. By default the component's timers are
   * `unref()`ed, so a monitor never holds a finished process open.
   * @defaultValue `false`
   */
  readonly persistent?: boolean;
  /**
   * Where the component writes its diagnostics: winston, pino, `console` or any
   * {@link Logger}.
   * @defaultValue a silent logger
   */
  readonly logger?: Logger;
  /**
   * The clock for everything time-based (ms since the epoch). Tests pass a fake one, or
   * use node:test mock timers with the default.
   * @defaultValue {@link systemClock}
   */
  readonly clock?: Clock;
}

/** Where a {@link Component} is in its life. */
export type ComponentState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The lifecycle every long-running part shares: `start()` and `stop()` are idempotent
 * (concurrent calls share one promise), `stop()` releases every timer and listener
 * the component registered through this class, an `AbortSignal` stops it, and
 * `await using` disposes of it. A stopped component stays stopped: make a new one.
 *
 * Subclasses implement {@link Component.onStart} and {@link Component.onStop}, and
 * create timers with {@link Component.setTimer} / {@link Component.setRepeating}
 * and subscriptions with {@link Component.listen}, so nothing can leak.
 */
export abstract class Component<E extends BaseEvents> extends HostwardenEmitter<E> implements AsyncDisposable {
  /** The logger given in the options, or a silent one. */
  protected readonly logger: Logger;
  /** The clock given in the options, or {@link systemClock}: the only "now" this component reads. */
  protected readonly clock: Clock;
  readonly #persistent: boolean;
  readonly #signal: AbortSignal | undefined;
  readonly #timers = new Set<CancelTimer>();
  readonly #checks = new Map<string, HealthCheck>();
  // The message each check was given, before escaping: to see that a check did not change.
  readonly #rawMessages = new Map<string, string | undefined>();
  #lastHealthState: Health['state'] = 'stopped';
  readonly #cleanups = new Set<() => void>();
  #state: ComponentState = 'idle';
  #startPromise: Promise<void> | undefined;
  #stopPromise: Promise<void> | undefined;
  readonly #onAbort = (): void => {
    void this.stop().catch((error: unknown) => this.emitError(toError(error)));
  };

  /**
   * @throws {@link InvalidOptionError} when `signal`, `persistent`, `logger` or `clock` is
   * of the wrong kind, so every component validates the shared options the same way.
   */
  constructor(options: ComponentOptions = {}) {
    super();
    if (options.signal !== undefined) expectSignal('signal', options.signal);
    if (options.persistent !== undefined) expectBoolean('persistent', options.persistent);
    if (options.logger !== undefined) expectLogger('logger', options.logger);
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new InvalidOptionError('clock', options.clock, 'a function returning milliseconds since the epoch');
    }
    this.logger = options.logger ?? silentLogger;
    this.#persistent = options.persistent ?? false;
    this.#signal = options.signal;
    this.clock = options.clock ?? systemClock;
  }

  /** Where the component is in its life. */
  get state(): ComponentState {
    return this.#state;
  }

  /** Whether timers keep the process alive. */
  protected get persistent(): boolean {
    return this.#persistent;
  }

  /**
   * Starts the component; resolves once it is running. Calling it again while
   * starting or running returns the same promise.
   *
   * @throws {@link AbortedError} if the `signal` is already aborted.
   * @throws {@link StateError} after `stop()`.
   */
  start(): Promise<void> {
    if (this.#stopPromise) {
      return Promise.reject(new StateError(`Cannot start a ${this.constructor.name} that was stopped; create a new one`));
    }
    if (this.#startPromise) return this.#startPromise;
    if (this.#state !== 'idle') {
      return Promise.reject(new StateError(`Cannot start a ${this.constructor.name} that was stopped; create a new one`));
    }
    if (this.#signal?.aborted) {
      this.#state = 'stopped';
      return Promise.reject(new AbortedError(`${this.constructor.name} was not started: its signal is aborted`, { cause: this.#signal.reason }));
    }
    this.#state = 'starting';
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#startPromise = (async () => {
      try {
        await this.onStart();
      } catch (error) {
        // A half-started component must not leave timers or handles behind.
        await this.stop().catch(() => {});
        throw error;
      }
      if (this.#state === 'starting') {
        this.#state = 'running';
        this.#reportHealth();
      }
    })();
    return this.#startPromise;
  }

  /**
   * Stops the component and resolves when everything is flushed and released.
   * Idempotent: later calls return the same promise. Safe before `start()`.
   */
  stop(): Promise<void> {
    if (this.#stopPromise) return this.#stopPromise;
    const wasStarted = this.#state !== 'idle';
    this.#state = 'stopping';
    this.#stopPromise = (async () => {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      try {
        if (wasStarted) await this.onStop();
      } finally {
        for (const cancel of this.#timers) cancel();
        this.#timers.clear();
        for (const cleanup of [...this.#cleanups]) cleanup();
        this.#cleanups.clear();
        this.#state = 'stopped';
        this.#reportHealth();
        this.endEventIterators();
      }
    })();
    return this.#stopPromise;
  }

  /** Same as {@link Component.stop}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Acquires what the component needs; called once by `start()`. */
  protected abstract onStart(): Promise<void>;

  /**
   * Flushes and releases what `onStart` acquired; called once by `stop()`. Timers and
   * listeners made through this class are released after it returns.
   */
  protected abstract onStop(): Promise<void>;

  /** Whether the component is stopping or stopped: long loops check it to end early. */
  protected get stopping(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  /**
   * A one-shot timer that `stop()` clears, `unref()`ed unless `persistent`, made through
   * `schedule` (so delays above 2^31 − 1 ms are chained, not turned into 1 ms).
   * Returns a function that cancels it.
   */
  protected setTimer(callback: () => void, ms: number): () => void {
    const cancel = schedule(
      () => {
        this.#timers.delete(cancel);
        this.#guard(callback);
      },
      ms,
      { persistent: this.#persistent },
    );
    this.#timers.add(cancel);
    return () => {
      cancel();
      this.#timers.delete(cancel);
    };
  }

  /**
   * A repeating timer that `stop()` clears, `unref()`ed unless `persistent`: `callback`
   * runs every `ms` milliseconds (re-armed before it runs, so a slow or throwing callback
   * does not stop the series). Returns a function that cancels it.
   */
  protected setRepeating(callback: () => void, ms: number): () => void {
    const cancel = repeat(() => this.#guard(callback), ms, { persistent: this.#persistent });
    this.#timers.add(cancel);
    return () => {
      cancel();
      this.#timers.delete(cancel);
    };
  }

  /**
   * The component's health now: `stopped` unless running, else `degraded` when any check
   * fails, else `ok`. Subclasses refresh time-dependent checks in {@link Component.refreshHealth}.
   *
   * @example
   * const { state, checks } = monitor.health();
   * if (state !== 'ok') console.error(checks.filter((c) => !c.ok));
   */
  health(): Health {
    if (this.#state === 'running') this.refreshHealth();
    const checks = [...this.#checks.values()];
    return { state: summarizeHealth(this.#state === 'running', checks), checks };
  }

  /**
   * Called by {@link Component.health} while running, before the checks are summed up:
   * the place to recompute checks that depend on the time of asking (the age of the last
   * sample). The default does nothing.
   */
  protected refreshHealth(): void {}

  /**
   * Sets (or replaces) one named health check, and emits `'health'` when the overall
   * state changes. The message is made one safe line.
   */
  protected setHealthCheck(name: string, ok: boolean, message?: string): void {
    // Components confirm the same check on every sample or poll: an unchanged one is not
    // escaped and summarised again.
    const previous = this.#checks.get(name);
    if (previous !== undefined && previous.ok === ok && this.#rawMessages.get(name) === message) return;
    const check: HealthCheck = message === undefined ? { name, ok } : { name, ok, message: safeText(message, { singleLine: true, max: 500 }) };
    this.#checks.set(name, check);
    this.#rawMessages.set(name, message);
    this.#reportHealth();
  }

  /** Removes a health check (a file no longer watched), emitting `'health'` if the state changes. */
  protected removeHealthCheck(name: string): void {
    this.#rawMessages.delete(name);
    if (this.#checks.delete(name)) this.#reportHealth();
  }

  /** Emits a `'warning'` in the one {@link Warning} shape (see `createWarning`). */
  protected emitWarning(warning: Warning): void {
    (this.emit as unknown as (event: 'warning', warning: Warning) => boolean)('warning', warning);
  }

  #reportHealth(): void {
    const checks = [...this.#checks.values()];
    const state = summarizeHealth(this.#state === 'running', checks);
    if (state === this.#lastHealthState) return;
    this.#lastHealthState = state;
    (this.emit as unknown as (event: 'health', health: Health) => boolean)('health', { state, checks });
  }

  /**
   * Registers a release function that `stop()` runs (closing a watcher, removing a
   * listener from another emitter). Returns a function that runs it early.
   */
  protected onCleanup(cleanup: () => void): () => void {
    const once = (): void => {
      if (this.#cleanups.delete(once)) cleanup();
    };
    this.#cleanups.add(once);
    return once;
  }

  /**
   * Subscribes to an event of any emitter (Node or eventemitter3) until `stop()`.
   * Returns a function that unsubscribes early.
   */
  protected listen<A extends unknown[]>(
    emitter: {
      on(event: string, listener: (...args: A) => void): unknown;
      off?(event: string, listener: (...args: A) => void): unknown;
      removeListener?(event: string, listener: (...args: A) => void): unknown;
    },
    event: string,
    listener: (...args: A) => void,
  ): () => void {
    emitter.on(event, listener);
    return this.onCleanup(() => {
      if (emitter.off) emitter.off(event, listener);
      else emitter.removeListener?.(event, listener);
    });
  }

  // A timer callback that throws must not crash the host service, nor vanish.
  #guard(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.emitError(toError(error));
    }
  }
}

/** Wraps a thrown non-Error so every `'error'` event carries an `Error`. */
export function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
