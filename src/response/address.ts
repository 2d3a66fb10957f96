/**
 * IP addresses and networks as numbers: strict parsing (nothing an attacker can slip past
 * into an nft command), one canonical text form per network, and prefix arithmetic.
 * Every address that reaches the firewall went through {@link parseNetwork}.
 */

/** An IPv4 or IPv6 network; a single address is a network with the full prefix (32 or 128). */
export interface Network {
  /** 4 or 6. IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are IPv4. */
  readonly family: 4 | 6;
  /** The network address as a number, host bits zero. */
  readonly value: bigint;
  /** The prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;
const MAX_TEXT = 64; // the longest IPv6 text with a prefix is 49 characters

/** The number of bits of a family's addresses: 32 or 128. */
export function familyBits(family: 4 | 6): number {
  return BITS[family];
}

function mask(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : ((all >> BigInt(BITS[family] - prefix)) << BigInt(BITS[family] - prefix)) & all;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: inet_aton reads "010" as octal, nft and others as decimal.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups: number[] = [];
  const parts = text.split(':');
  for (const [i, part] of parts.entries()) {
    if (i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === undefined) return undefined;
      groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return undefined;
      groups.push(Number.parseInt(part, 16));
    }
  }
  return groups;
}

function parseIPv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(group);
  return value;
}

/**
 * Parses an address or a network in CIDR notation: `192.0.2.7`, `192.0.2.0/24`,
 * `2001:db8::1`, `2001:db8::/48`, `::ffff:192.0.2.7` (becomes IPv4). Host bits of a
 * network are cleared (`192.0.2.7/24` is `192.0.2.0/24`). Returns `undefined` for anything
 * else: names, zone ids (`fe80::1%eth0`), octal-looking octets, spaces, brackets.
 *
 * @example
 * parseNetwork('::ffff:203.0.113.5'); // { family: 4, value: 3405803781n, prefix: 32 }
 */
export function parseNetwork(text: string): Network | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_TEXT) return undefined;
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  let prefix: number | undefined;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^(?:0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
  }
  if (addressText.includes(':')) {
    const value = parseIPv6(addressText);
    if (value === undefined) return undefined;
    if (value >> 32n === 0xffffn && (prefix === undefined || prefix >= 96)) {
      return network(4, value & 0xffffffffn, prefix === undefined ? 32 : prefix - 96);
    }
    if (prefix !== undefined && prefix > 128) return undefined;
    return network(6, value, prefix ?? 128);
  }
  const value = parseIPv4(addressText);
  if (value === undefined || (prefix !== undefined && prefix > 32)) return undefined;
  return network(4, value, prefix ?? 32);
}

/** A network of `family` around `value`, host bits cleared. */
export function network(family: 4 | 6, value: bigint, prefix: number): Network {
  return { family, value: value & mask(family, prefix), prefix };
}

/** The network of `prefix` bits that holds `address` (`/24` of an IPv4 address, say). */
export function widen(address: Network, prefix: number): Network {
  return network(address.family, address.value, Math.min(prefix, address.prefix));
}

/** Whether `outer` holds every address of `inner`. */
export function contains(outer: Network, inner: Network): boolean {
  return outer.family === inner.family && outer.prefix <= inner.prefix && (inner.value & mask(outer.family, outer.prefix)) === outer.value;
}

/** Whether the network is one address (`/32` or `/128`). */
export function isSingle(n: Network): boolean {
  return n.prefix === BITS[n.family];
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

// RFC 5952: lower case, no leading zeros, the longest run (first if tied) of two or more
// zero groups written as "::". nft prints the same form, so state and kernel compare as text.
function formatIPv6(value: bigint): string {
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((value >> shift) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The address part in canonical text (`192.0.2.0`, `2001:db8::`), without the prefix. */
export function formatAddress(n: Network): string {
  return n.family === 4 ? formatIPv4(n.value) : formatIPv6(n.value);
}

/**
 * The canonical text of a network: the bare address for a single address
 * (`192.0.2.7`, `2001:db8::1`), `address/prefix` otherwise (`2001:db8:1:2::/64`).
 */
export function formatNetwork(n: Network): string {
  return isSingle(n) ? formatAddress(n) : `${formatAddress(n)}/${n.prefix}`;
}

/**
 * A list of networks with a membership test, for the ignore list and the host's own
 * addresses. Lookups walk the distinct prefix lengths present (at most 33 + 129), so
 * they stay fast with thousands of entries.
 */
export class NetworkList {
  readonly #byPrefix = new Map<string, Set<bigint>>();
  readonly #entries: Network[] = [];

  constructor(networks: Iterable<Network> = []) {
    for (const n of networks) this.add(n);
  }

  /** Adds a network (adding one twice is harmless). */
  add(n: Network): void {
    const key = `${n.family}/${n.prefix}`;
    let set = this.#byPrefix.get(key);
    if (!set) this.#byPrefix.set(key, (set = new Set()));
    if (!set.has(n.value)) {
      set.add(n.value);
      this.#entries.push(n);
    }
  }

  /** The network of this list that holds `n`, if any. */
  find(n: Network): Network | undefined {
    for (const [key, values] of this.#byPrefix) {
      const [familyText, prefixText] = key.split('/');
      const family = Number(familyText) as 4 | 6;
      const prefix = Number(prefixText);
      if (family !== n.family || prefix > n.prefix) continue;
      const value = n.value & mask(family, prefix);
      if (values.has(value)) return { family, value, prefix };
    }
    return undefined;
  }

  /** Whether some network of the list holds `n`. */
  has(n: Network): boolean {
    return this.find(n) !== undefined;
  }

  /** The networks, in the order they were added. */
  get entries(): readonly Network[] {
    return this.#entries;
  }
}
