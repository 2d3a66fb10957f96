/**
 * A min-heap of ban expiries, so the manager's one timer always targets the next ban to
 * end and expiring thousands of bans costs O(log n) each, not a scan of all of them.
 * Entries whose ban changed are skipped lazily (their `until` no longer matches).
 * @internal
 */
export class ExpiryQueue {
  readonly #heap: { key: string; until: number }[] = [];

  /** Adds an expiry. */
  push(key: string, until: number): void {
    const heap = this.#heap;
    heap.push({ key, until });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as { until: number }).until <= until) break;
      [heap[i], heap[parent]] = [heap[parent] as { key: string; until: number }, heap[i] as { key: string; until: number }];
      i = parent;
    }
  }

  /** The earliest expiry, without removing it. */
  peek(): { key: string; until: number } | undefined {
    return this.#heap[0];
  }

  /** Removes and returns the earliest expiry. */
  pop(): { key: string; until: number } | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < heap.length && (heap[l] as { until: number }).until < (heap[smallest] as { until: number }).until) smallest = l;
      if (r < heap.length && (heap[r] as { until: number }).until < (heap[smallest] as { until: number }).until) smallest = r;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest] as { key: string; until: number }, heap[i] as { key: string; until: number }];
      i = smallest;
    }
    return top;
  }

  /** How many entries (live or stale) it holds. */
  get size(): number {
    return this.#heap.length;
  }
}
