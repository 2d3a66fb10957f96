import { Worker } from 'node:worker_threads';
import { workerEntry } from '../core/worker-entry.js';
import type { HostReply, HostRequest } from './parcel-protocol.js';

/** A batch from parcel: parallel arrays of paths and type letters (`c`, `u`, `d`), or the watcher's error. @internal */
export type HostedCallback = (error: Error | null, paths: readonly string[], types: string) => void;

/** One recursive subscription in the worker. @internal */
export interface HostedSubscription {
  unsubscribe(): Promise<void>;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

/**
 * The main thread's side of parcel-worker.ts: `@parcel/watcher` subscriptions made in a
 * worker thread, so that parcel's hold on the event loop is the worker's, and a watcher
 * that is not `persistent` lets the process exit: the worker is `unref()`ed unless a
 * persistent subscription is open or an answer is awaited.
 *
 * One worker per process, shared by every FileWatcher and never ended: parcel's native
 * addon registers itself once per process, so a second thread, or a new one after the first
 * ended, cannot load it ("Module did not self-register"). Idle and unref'ed, it holds
 * nothing open. A worker that dies fails every subscription's callback (the watchers then
 * restart their event sources, and fall back to crawling if parcel cannot load again).
 *
 * @internal
 */
export class ParcelHost {
  static #shared: ParcelHost | undefined;
  readonly #worker: Worker;
  readonly #callbacks = new Map<number, HostedCallback>();
  readonly #waiting = new Map<number, Waiter>();
  readonly #persistent = new Set<number>();
  #next = 1;
  #dead: Error | undefined;

  /** The process's host, started on first use. */
  static shared(): ParcelHost {
    if (ParcelHost.#shared === undefined || ParcelHost.#shared.#dead !== undefined) ParcelHost.#shared = new ParcelHost();
    return ParcelHost.#shared;
  }

  private constructor() {
    const entry = workerEntry(import.meta.url, 'parcel-worker');
    // A small young generation: this thread only copies event batches, and the default
    // would cost tens of MB of RSS for nothing.
    this.#worker = new Worker(entry.url, { execArgv: entry.execArgv, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 256 } });
    this.#worker.on('message', (reply: HostReply) => this.#receive(reply));
    this.#worker.on('error', (error) => this.#died(error));
    this.#worker.on('exit', (code) => this.#died(new Error(`the event worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    this.#worker.unref();
  }

  /**
   * Subscribes `dir` recursively, leaving out `ignore` (absolute paths); a `persistent`
   * subscription keeps the process alive until unsubscribed.
   * @throws Error with parcel's message when the subscription failed (a watch limit, a missing directory).
   */
  async subscribe(dir: string, ignore: readonly string[], persistent: boolean, callback: HostedCallback): Promise<HostedSubscription> {
    const id = this.#next++;
    this.#callbacks.set(id, callback);
    try {
      await this.#request({ op: 'subscribe', id, dir, ignore });
    } catch (error) {
      this.#callbacks.delete(id);
      throw error;
    }
    if (persistent) this.#persistent.add(id);
    this.#updateRef();
    let unsubscribed: Promise<void> | undefined;
    return {
      unsubscribe: () =>
        (unsubscribed ??= (async () => {
          this.#callbacks.delete(id);
          if (this.#dead === undefined) await this.#request({ op: 'unsubscribe', id }).catch(() => {});
          this.#persistent.delete(id);
          this.#updateRef();
        })()),
    };
  }

  #updateRef(): void {
    if (this.#dead !== undefined) return;
    // An answer being awaited holds the process too (a `start()` must finish).
    if (this.#waiting.size > 0 || this.#persistent.size > 0) this.#worker.ref();
    else this.#worker.unref();
  }

  #request(request: HostRequest): Promise<void> {
    if (this.#dead) return Promise.reject(this.#dead);
    const answer = new Promise<void>((resolve, reject) => {
      this.#waiting.set(request.id, { resolve, reject });
      this.#worker.postMessage(request);
    });
    this.#updateRef();
    return answer.finally(() => this.#updateRef());
  }

  #receive(reply: HostReply): void {
    switch (reply.op) {
      case 'events':
        this.#callbacks.get(reply.id)?.(null, reply.paths, reply.types);
        return;
      case 'error':
        this.#callbacks.get(reply.id)?.(new Error(reply.message), [], '');
        return;
      case 'refused': {
        const waiter = this.#waiting.get(reply.id);
        this.#waiting.delete(reply.id);
        waiter?.reject(new Error(reply.message));
        return;
      }
      default: {
        const waiter = this.#waiting.get(reply.id);
        this.#waiting.delete(reply.id);
        waiter?.resolve();
      }
    }
  }

  #died(error: Error): void {
    if (this.#dead !== undefined) return;
    this.#dead = error;
    for (const waiter of this.#waiting.values()) waiter.reject(error);
    this.#waiting.clear();
    for (const callback of this.#callbacks.values()) callback(error, [], '');
    this.#callbacks.clear();
  }
}
