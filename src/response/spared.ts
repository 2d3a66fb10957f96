/**
 * The addresses never banned: the `ignore` list and this host's own addresses (every
 * interface and loopback, re-read every 30 s as DHCP or a VPN changes them). A network
 * that would hold one of them is refused as well.
 * @internal
 */
import { contains, isSingle, NetworkList, type Network } from './address.js';
import { hostAddresses } from './ban-options.js';

const REREAD_MS = 30_000;

export class SparedAddresses {
  readonly #ignore: NetworkList;
  #self = new NetworkList();
  #selfReadAt = -Infinity;

  constructor(ignore: readonly Network[]) {
    this.#ignore = new NetworkList(ignore);
  }

  /** Why `n` must not be banned, or `undefined` when it may be. */
  why(n: Network, at: number): string | undefined {
    if (at - this.#selfReadAt > REREAD_MS || at < this.#selfReadAt) {
      this.#self = new NetworkList(hostAddresses());
      this.#selfReadAt = at;
    }
    for (const [list, why] of [
      [this.#self, 'an address of this host'],
      [this.#ignore, 'in the ignore list'],
    ] as const) {
      if (list.has(n)) return why;
      // A network ban must not swallow a spared address either.
      if (!isSingle(n) && list.entries.some((spared) => contains(n, spared))) return `holds ${why}`;
    }
    return undefined;
  }
}
