import type { RateLimit } from './channel.js';

/**
 * A token bucket: `burst` messages at once, refilled at `perSecond`. Used per channel so
 * a storm drains at the rate the peer accepts (Slack: about one message per second per
 * channel) instead of earning 429s.
 * @internal
 */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  readonly #clock: () => number;
  #tokens: number;
  #last: number;

  constructor(limit: RateLimit, clock: () => number) {
    this.#rate = limit.perSecond;
    this.#burst = limit.burst ?? 1;
    this.#clock = clock;
    this.#tokens = this.#burst;
    this.#last = clock();
  }

  /** Takes a token; returns 0 when one was available, else how many ms until one is. */
  take(): number {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) / this.#rate) * 1000));
  }

  /** Empties the bucket for `ms` (a peer's Retry-After says it is over its limit). */
  pause(ms: number): void {
    this.#refill();
    this.#tokens = Math.min(this.#tokens, 0) - (ms / 1000) * this.#rate;
  }

  #refill(): void {
    const now = this.#clock();
    const elapsed = Math.max(0, now - this.#last) / 1000;
    this.#last = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
  }
}
