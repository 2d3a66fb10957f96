/**
 * Subnet escalation: when N distinct addresses of one /24 (IPv4) or /48 (IPv6) are banned
 * within a window, the whole prefix is banned — the botnet that rotates through a
 * provider's block gets one ban instead of hundreds.
 */
import { InvalidOptionError } from '../core/errors.js';
import { expectNumber } from '../core/validate.js';
import { durationOption, rejectUnknownKeys } from '../core/options.js';
import { formatNetwork, widen, type Network } from './address.js';

/** Options of subnet escalation (the `subnet` option of {@link BanManager}). */
export interface SubnetOptions {
  /**
   * Distinct banned addresses (or IPv6 prefixes) of one subnet that make the subnet banned.
   * @defaultValue `5`
   */
  readonly threshold?: number;
  /**
   * The window the bans are counted in (ms or text like `'1h'`).
   * @defaultValue 1 hour
   */
  readonly within?: number | string;
  /**
   * The IPv4 subnet's prefix length.
   * @defaultValue `24`
   */
  readonly ipv4Prefix?: number;
  /**
   * The IPv6 subnet's prefix length.
   * @defaultValue `48`
   */
  readonly ipv6Prefix?: number;
}

/** The resolved subnet options. @internal */
export interface ResolvedSubnet {
  readonly threshold: number;
  readonly within: number;
  readonly ipv4Prefix: number;
  readonly ipv6Prefix: number;
}

/** Validates `subnet` (`false`/absent: off). @internal */
export function resolveSubnet(value: SubnetOptions | boolean | undefined): ResolvedSubnet | undefined {
  if (value === undefined || value === false) return undefined;
  const options = value === true ? {} : value;
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('subnet', value, 'an object, true or false');
  rejectUnknownKeys('BanManager subnet', options, ['threshold', 'within', 'ipv4Prefix', 'ipv6Prefix']);
  return {
    threshold: expectNumber('subnet.threshold', options.threshold ?? 5, { integer: true, min: 2 }),
    within: durationOption('subnet.within', options.within ?? 3_600_000, { min: 1000, max: 30 * 86_400_000 }),
    ipv4Prefix: expectNumber('subnet.ipv4Prefix', options.ipv4Prefix ?? 24, { integer: true, min: 8, max: 31 }),
    ipv6Prefix: expectNumber('subnet.ipv6Prefix', options.ipv6Prefix ?? 48, { integer: true, min: 16, max: 127 }),
  };
}

/** Remembers recent bans per subnet and says when a subnet crossed its threshold. @internal */
export class SubnetTracker {
  readonly #options: ResolvedSubnet;
  // subnet text → (member text → time of its latest ban)
  readonly #recent = new Map<string, Map<string, number>>();

  constructor(options: ResolvedSubnet) {
    this.#options = options;
  }

  /** Notes a ban of `member` at time `at`; returns the subnet to ban when the threshold is reached. */
  record(member: Network, at: number): Network | undefined {
    const prefix = member.family === 4 ? this.#options.ipv4Prefix : this.#options.ipv6Prefix;
    if (member.prefix <= prefix) return undefined;
    const subnet = widen(member, prefix);
    const key = formatNetwork(subnet);
    let members = this.#recent.get(key);
    if (!members) this.#recent.set(key, (members = new Map<string, number>()));
    members.set(formatNetwork(member), at);
    for (const [m, time] of members) if (time <= at - this.#options.within) members.delete(m);
    if (members.size < this.#options.threshold) return undefined;
    this.#recent.delete(key);
    return subnet;
  }

  /** Drops subnets with no ban inside the window (called now and then, bounds memory). */
  prune(at: number): void {
    for (const [key, members] of this.#recent) {
      for (const [m, time] of members) if (time <= at - this.#options.within) members.delete(m);
      if (members.size === 0) this.#recent.delete(key);
    }
  }
}
