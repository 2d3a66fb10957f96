import type { BanBackend, BanEntry, BanReconcileReport } from './backend.js';
import { systemClock, type Clock } from '../core/clock.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /**
   * The clock the fake firewall expires elements by.
   * @defaultValue the system clock
   */
  readonly clock?: Clock;
}

/**
 * A firewall in memory, for unit tests of code that drives a {@link BanBackend} (like
 * knftables' fake): it expires elements by the clock, counts transactions, and can be
 * told to fail the next write.
 *
 * @example
 * const backend = new MemoryBackend({ clock: () => now });
 * const bans = new BanManager({ backend, stateFile });
 */
export class MemoryBackend implements BanBackend {
  readonly #clock: Clock;
  readonly #elements = new Map<string, number>();
  #failures: Error[] = [];
  /** How many writes (`start`, `add`, `remove`) reached the fake firewall. */
  transactions = 0;
  /** Whether `start()` ran and `stop()` did not. */
  running = false;

  constructor(options: MemoryBackendOptions = {}) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Makes the next write reject with `error` (queue several by calling it again). */
  failNext(error: Error): void {
    this.#failures.push(error);
  }

  /** Simulates a reboot or `nft flush ruleset`: every element is gone. */
  wipe(): void {
    this.#elements.clear();
  }

  /** Whether the fake firewall blocks `address` (an exact element, no prefix matching). */
  has(address: string): boolean {
    const until = this.#elements.get(address);
    return until !== undefined && until > this.#clock();
  }

  #write(): void {
    const failure = this.#failures.shift();
    if (failure) throw failure;
    this.transactions++;
  }

  async start(entries: readonly BanEntry[]): Promise<BanReconcileReport> {
    this.#write();
    const existed = this.running || this.#elements.size > 0;
    this.#expire();
    const wanted = new Map(entries.map((e) => [e.address, e.until]));
    let added = 0;
    let removed = 0;
    let updated = 0;
    for (const address of [...this.#elements.keys()]) {
      if (!wanted.has(address)) {
        this.#elements.delete(address);
        removed++;
      }
    }
    for (const [address, until] of wanted) {
      const had = this.#elements.get(address);
      if (had === undefined) added++;
      else if (Math.abs(had - until) > 1000) updated++;
      this.#elements.set(address, until);
    }
    this.running = true;
    return { existed, added, removed, updated };
  }

  async add(entries: readonly BanEntry[]): Promise<void> {
    this.#write();
    for (const entry of entries) this.#elements.set(entry.address, entry.until);
  }

  async remove(entries: readonly BanEntry[]): Promise<void> {
    this.#write();
    for (const entry of entries) this.#elements.delete(entry.address);
  }

  async list(): Promise<BanEntry[]> {
    this.#expire();
    return [...this.#elements].map(([address, until]) => ({ address, until }));
  }

  async stop(): Promise<void> {
    this.running = false;
  }

  #expire(): void {
    const now = this.#clock();
    for (const [address, until] of this.#elements) if (until <= now) this.#elements.delete(address);
  }
}
