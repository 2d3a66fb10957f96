import { networkInterfaces } from 'node:os';
import { InvalidOptionError } from '../core/errors.js';
import type { ComponentOptions } from '../core/lifecycle.js';
import { expectArray, expectBoolean, expectNumber, expectOneOf, expectString } from '../core/validate.js';
import { parseNetwork, type Network } from './address.js';
import type { BanBackend } from './backend.js';
import { resolveEscalation, type Escalation, type EscalationOptions } from './escalation.js';
import { checkSharedOptions, durationOption, rejectUnknownKeys, SHARED_OPTION_KEYS } from '../core/options.js';
import { resolveSubnet, type ResolvedSubnet, type SubnetOptions } from './subnet.js';
import { authBanRules } from '../logwatcher/auth-rules.js';

/**
 * The alert rules that ban by default: the per-address brute-force thresholds of
 * `authRules` and a successful login after failures. Rules grouped by user (`su`,
 * `login`) are not here: their `host` label is not the attacker's.
 */
export const DEFAULT_BAN_RULES: readonly string[] = authBanRules;

/** `'enforce'` bans in the firewall; `'observe'` reports what it would ban and touches nothing. */
export type BanMode = 'enforce' | 'observe';

/** Options of {@link BanManager}. */
export interface BanManagerOptions extends ComponentOptions {
  /**
   * The firewall. Required with `mode: 'enforce'`, e.g. `new NftablesBackend()`;
   * not used in `'observe'` mode.
   */
  readonly backend?: BanBackend;
  /**
   * The ban journal (JSON lines, fsync'd, compacted atomically). Bans and offenders'
   * history survive restarts and reboots through it. Without it, `start()` adopts what the
   * firewall holds and escalation forgets on restart.
   * @defaultValue none
   */
  readonly stateFile?: string;
  /**
   * How long a first ban lasts: ms or a duration (`'10m'`).
   * @defaultValue 10 minutes (fail2ban's `bantime`)
   */
  readonly banTime?: number | string;
  /**
   * The longest ban escalation may give: ms or a duration. At most 365 days.
   * @defaultValue 7 days
   */
  readonly maxBanTime?: number | string;
  /**
   * Repeat offenders get longer bans; `false` turns it off.
   * @defaultValue `{ factor: 2, forgetAfter: 7 days }`
   */
  readonly escalation?: EscalationOptions | false;
  /**
   * Addresses and networks (CIDR) never banned, in addition to this host's own addresses
   * (every interface, and loopback), which are always spared.
   * @defaultValue `[]`
   */
  readonly ignore?: readonly string[];
  /**
   * Also spare the client of the SSH session this process runs in (from `SSH_CONNECTION`
   * or `SSH_CLIENT`), so an operator testing the setup cannot lock themselves out.
   * @defaultValue `true`
   */
  readonly ignoreSshSession?: boolean;
  /**
   * IPv6 attackers are banned by this prefix: one host usually holds a whole /64.
   * @defaultValue `64`
   */
  readonly ipv6Prefix?: number;
  /**
   * Ban a whole /24 (IPv4) or /48 (IPv6) when this many of its addresses were banned
   * within the window; `true` uses the defaults of {@link SubnetOptions}.
   * @defaultValue `false`
   */
  readonly subnet?: SubnetOptions | boolean;
  /**
   * The ids of alert rules whose firing alerts ban their `labels.host`.
   * @defaultValue {@link DEFAULT_BAN_RULES}
   */
  readonly rules?: readonly string[];
  /**
   * `'observe'` reports bans (events, alerts, `list()`) without a firewall.
   * @defaultValue `'enforce'`
   */
  readonly mode?: BanMode;
}

/** The options after validation. @internal */
export interface ResolvedBanOptions {
  readonly backend: BanBackend | undefined;
  readonly stateFile: string | undefined;
  readonly banTime: number;
  readonly maxBanTime: number;
  readonly escalation: Escalation;
  readonly ignore: readonly Network[];
  readonly ipv6Prefix: number;
  readonly subnet: ResolvedSubnet | undefined;
  readonly rules: ReadonlySet<string>;
  readonly mode: BanMode;
}

const KNOWN_KEYS = ['backend', 'stateFile', 'banTime', 'maxBanTime', 'escalation', 'ignore', 'ignoreSshSession', 'ipv6Prefix', 'subnet', 'rules', 'mode', ...SHARED_OPTION_KEYS];
const MAX_BAN_TIME = 365 * 86_400_000;

/** The addresses of this host's interfaces, and loopback. @internal */
export function hostAddresses(): Network[] {
  const out = ['127.0.0.0/8', '::1'].map((t) => parseNetwork(t) as Network);
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      const n = parseNetwork(info.address.replace(/%.*$/, ''));
      if (n) out.push(n);
    }
  }
  return out;
}

/** The client address of the SSH session this process runs in, if any. @internal */
export function sshSessionClient(env: NodeJS.ProcessEnv): Network | undefined {
  const text = env['SSH_CONNECTION'] ?? env['SSH_CLIENT'];
  const first = text?.trim().split(/\s+/)[0];
  return first ? parseNetwork(first) : undefined;
}

/** Validates the options of {@link BanManager}. @internal */
export function resolveBanOptions(options: BanManagerOptions): ResolvedBanOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('BanManager', options, KNOWN_KEYS);
  checkSharedOptions(options);
  const mode = expectOneOf('mode', options.mode ?? 'enforce', ['enforce', 'observe'] as const);
  const backend = options.backend;
  if (backend !== undefined) {
    for (const method of ['start', 'add', 'remove', 'list', 'stop'] as const) {
      if (typeof (backend as unknown as Record<string, unknown>)?.[method] !== 'function')
        throw new InvalidOptionError('backend', backend, 'a BanBackend (start, add, remove, list, stop)');
    }
  } else if (mode === 'enforce') {
    throw new InvalidOptionError('backend', backend, "a BanBackend such as new NftablesBackend() (or mode: 'observe')");
  }
  const stateFile = options.stateFile === undefined ? undefined : expectString('stateFile', options.stateFile);
  const banTime = durationOption('banTime', options.banTime ?? 600_000, { min: 1000, max: MAX_BAN_TIME });
  const maxBanTime = durationOption('maxBanTime', options.maxBanTime ?? 7 * 86_400_000, { min: 1000, max: MAX_BAN_TIME });
  if (maxBanTime < banTime) throw new InvalidOptionError('maxBanTime', options.maxBanTime, `at least banTime (${banTime} ms)`);
  const ignore: Network[] = [];
  for (const [i, text] of expectArray('ignore', options.ignore ?? []).entries()) {
    const n = typeof text === 'string' ? parseNetwork(text) : undefined;
    if (!n) throw new InvalidOptionError(`ignore[${i}]`, text, 'an IPv4 or IPv6 address or CIDR network');
    ignore.push(n);
  }
  if (expectBoolean('ignoreSshSession', options.ignoreSshSession ?? true)) {
    const client = sshSessionClient(process.env);
    if (client) ignore.push(client);
  }
  const rules = expectArray('rules', options.rules ?? DEFAULT_BAN_RULES).map((r, i) => expectString(`rules[${i}]`, r));
  return Object.freeze({
    backend: mode === 'enforce' ? backend : undefined,
    stateFile,
    banTime,
    maxBanTime,
    escalation: resolveEscalation(options.escalation),
    ignore: Object.freeze(ignore),
    ipv6Prefix: expectNumber('ipv6Prefix', options.ipv6Prefix ?? 64, { integer: true, min: 16, max: 128 }),
    subnet: resolveSubnet(options.subnet),
    rules: new Set(rules),
    mode,
  });
}
