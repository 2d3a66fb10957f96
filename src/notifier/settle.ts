/**
 * Tracks which accepted alerts are still owed a delivery, so `flush()` can wait for
 * "everything accepted so far" while new alerts keep arriving.
 *
 * Each accepted alert gets an increasing sequence number and a count of channels it is
 * owed to. Numbers enter the map in increasing order and Map iteration follows
 * insertion, so the first key is always the oldest unsettled one: a waiter for
 * "everything up to n" is done once that key is past n.
 * @internal
 */
export class SettleTracker {
  readonly #outstanding = new Map<number, number>();
  readonly #waiters: { upTo: number; resolve: () => void }[] = [];
  #seq = 0;

  /** The newest sequence number handed out. */
  get last(): number {
    return this.#seq;
  }

  /** Registers an alert owed to `count` channels; returns its sequence number. */
  add(count: number): number {
    const seq = ++this.#seq;
    this.#outstanding.set(seq, count);
    return seq;
  }

  /** One channel's delivery of alert `seq` is settled (delivered, failed or dropped). */
  settle(seq: number): void {
    const left = (this.#outstanding.get(seq) ?? 1) - 1;
    if (left > 0) {
      this.#outstanding.set(seq, left);
      return;
    }
    this.#outstanding.delete(seq);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter !== undefined && this.settledUpTo(waiter.upTo)) {
        this.#waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Whether every alert up to `upTo` is settled. */
  settledUpTo(upTo: number): boolean {
    const oldest = this.#outstanding.keys().next();
    return oldest.done === true || oldest.value > upTo;
  }

  /** Resolves once every alert up to `upTo` is settled. */
  wait(upTo: number): Promise<void> {
    if (this.settledUpTo(upTo)) return Promise.resolve();
    return new Promise<void>((resolve) => this.#waiters.push({ upTo, resolve }));
  }

  /** Releases every waiter (the Notifier stopped). */
  releaseAll(): void {
    for (const w of this.#waiters.splice(0)) w.resolve();
  }
}
