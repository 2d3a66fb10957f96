/**
 * Which set each element is in, and where a new prefix can go without overlapping an
 * interval already in a set (nft refuses that, see {@link SET_NAMES}). Prefixes are
 * indexed by length, so the usual case — many IPv6 /64s — is a few hash lookups.
 * @internal
 */
import { contains, formatNetwork, isSingle, network, type Network } from './address.js';
import { addressSet, prefixSets, type SetName } from './nft-script.js';

interface Placed {
  readonly network: Network;
  readonly set: SetName;
}

export class SetPlacement {
  readonly #placed = new Map<string, Placed>();
  // set → prefix length → network values
  readonly #index = new Map<SetName, Map<number, Set<bigint>>>();

  /** The set an element is in, if known. */
  setOf(key: string): SetName | undefined {
    return this.#placed.get(key)?.set;
  }

  /** Records that `n` is in `set`. */
  place(n: Network, set: SetName): void {
    const key = formatNetwork(n);
    this.remove(key);
    this.#placed.set(key, { network: n, set });
    if (isSingle(n)) return;
    let byLength = this.#index.get(set);
    if (!byLength) this.#index.set(set, (byLength = new Map<number, Set<bigint>>()));
    let values = byLength.get(n.prefix);
    if (!values) byLength.set(n.prefix, (values = new Set()));
    values.add(n.value);
  }

  /** Forgets an element. */
  remove(key: string): void {
    const placed = this.#placed.get(key);
    if (!placed) return;
    this.#placed.delete(key);
    this.#index.get(placed.set)?.get(placed.network.prefix)?.delete(placed.network.value);
  }

  /** Forgets everything. */
  clear(): void {
    this.#placed.clear();
    this.#index.clear();
  }

  /**
   * The set a new element goes in: the address set for one address; for a prefix the
   * first prefix set where it overlaps nothing, or `undefined` when both overlap.
   */
  choose(n: Network): SetName | undefined {
    if (isSingle(n)) return addressSet(n);
    return prefixSets(n.family).find((set) => !this.#overlaps(set, n));
  }

  #overlaps(set: SetName, n: Network): boolean {
    const byLength = this.#index.get(set);
    if (!byLength) return false;
    for (const [length, values] of byLength) {
      if (values.size === 0) continue;
      if (length <= n.prefix) {
        if (values.has(network(n.family, n.value, length).value)) return true;
      } else {
        for (const value of values) if (contains(n, { family: n.family, value, prefix: length })) return true;
      }
    }
    return false;
  }
}
