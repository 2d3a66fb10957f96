import type { Alert } from '../core/alert.js';
import { InvalidOptionError, IoError, StateError } from '../core/errors.js';
import { Component, toError } from '../core/lifecycle.js';
import { formatDuration, parseDuration } from '../core/format.js';
import { safeText } from '../core/text.js';
import { createWarning } from '../core/warning.js';
import { contains, formatNetwork, isSingle, parseNetwork, widen, type Network } from './address.js';
import type { BanEntry, BanReconcileReport } from './backend.js';
import { banAlert, type UnbanReason } from './ban-alert.js';
import { SparedAddresses } from './spared.js';
import { resolveBanOptions, type BanManagerOptions, type BanMode, type ResolvedBanOptions } from './ban-options.js';
import type { HostwardenEvents } from '../core/emitter.js';
import { ExpiryQueue } from './expiry-queue.js';
import { BanStateFile, type OffenderRecord, type StateRecord, type StoredBan } from './state-file.js';
import { SubnetTracker } from './subnet.js';

/** A ban the manager holds (or, in `'observe'` mode, would hold). */
export interface Ban {
  /** The banned address or network, canonical: `203.0.113.5`, `2001:db8:1:2::/64`. */
  readonly address: string;
  /** Its prefix length: 32 / 128 for one address, less for a network. */
  readonly prefix: number;
  /** The alert rule (or `manual`, `subnet`, `restored`) that caused it. */
  readonly rule: string;
  /** Why, for people (escaped). */
  readonly reason: string;
  /** When it started. */
  readonly since: Date;
  /** When it ends (the firewall drops it by itself then). */
  readonly until: Date;
  /** The how-manieth ban of this network it is (escalation counts it). */
  readonly count: number;
}

/** The payload of `'ban'`. */
export interface BanEvent {
  /** The ban. */
  readonly ban: Ban;
  /** `'observe'` when nothing was enforced. */
  readonly mode: BanMode;
}

export type { UnbanReason } from './ban-alert.js';

/** The payload of `'unban'`. */
export interface UnbanEvent {
  /** The ban that ended. */
  readonly ban: Ban;
  /** `expired` (its time ran out), `manual` (`unban()`), `widened` (a wider ban holds it now). */
  readonly reason: UnbanReason;
  /** `'observe'` when nothing was enforced. */
  readonly mode: BanMode;
}

/**
 * Events of {@link BanManager}; `'health'` reports the checks `firewall` (the last write
 * to the firewall failed) and `state` (the last write to the journal failed), `'warning'`
 * an invalid, ignored or unbannable address or a bad journal line.
 */
export interface BanManagerEvents extends HostwardenEvents {
  /** An address or network was banned (after the firewall committed it). */
  ban: [event: BanEvent];
  /** A ban ended. */
  unban: [event: UnbanEvent];
  /** `ban.added` firing on a ban, resolved when it ends; source `response`. */
  alert: [alert: Alert];
}

/** Options of {@link BanManager.ban}. */
export interface BanCallOptions {
  /** Why, for people. @defaultValue `'manual ban'` */
  readonly reason?: string;
  /** How long (ms or `'1h'`); without it the escalation decides. */
  readonly duration?: number | string;
  /** The rule id recorded. @defaultValue `'manual'` */
  readonly rule?: string;
}

const REPAIR_DELAY = 5_000;
const MAX_TIMER = 2 ** 31 - 1;

/**
 * Bans attackers in a firewall: on firing alerts of the chosen rules (by their
 * `labels.host`) from the emitters it is `attach()`ed to, and on `ban()` calls. Every
 * address is parsed and normalised; this host's own addresses, the `ignore` list and the
 * operator's SSH client are never banned. Repeat offenders get escalating bans, IPv6 is
 * banned by prefix, and bans survive restarts (state journal + reconciliation in one
 * firewall transaction) and reboots.
 *
 * @example
 * const bans = new BanManager({ backend: new NftablesBackend(), stateFile: '/var/lib/hostwarden/bans.jsonl' });
 * bans.attach(watcher);
 * notifier.attach(watcher, bans);
 * await bans.start();
 */
export class BanManager extends Component<BanManagerEvents> {
  readonly #options: ResolvedBanOptions;
  readonly #bans = new Map<string, StoredBan>();
  readonly #networks = new Map<string, Network>();
  readonly #offenders = new Map<string, OffenderRecord>();
  readonly #expiry = new ExpiryQueue();
  readonly #subnets: SubnetTracker | undefined;
  // Prefix lengths of banned networks, per family: a covering ban is looked up by these only.
  readonly #prefixLengths = { 4: new Map<number, number>(), 6: new Map<number, number>() };
  readonly #spared: SparedAddresses;
  #state: BanStateFile | undefined;
  #cancelTimer: (() => void) | undefined;
  #timerAt = Infinity;
  #cancelRepair: (() => void) | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  #reconcile: BanReconcileReport | undefined;

  constructor(options: BanManagerOptions) {
    const resolved = resolveBanOptions(options);
    super(options);
    this.#options = resolved;
    this.#spared = new SparedAddresses(resolved.ignore);
    this.#subnets = resolved.subnet ? new SubnetTracker(resolved.subnet) : undefined;
  }

  /** `'enforce'` or `'observe'`. */
  get mode(): BanMode {
    return this.#options.mode;
  }

  /** What `start()` found in the firewall and changed (undefined before, or in observe mode). */
  get reconcileReport(): BanReconcileReport | undefined {
    return this.#reconcile;
  }

  /**
   * Bans on the firing `'alert'`s of these emitters (LogWatchers, usually) whose rule is
   * one of `rules`, by `labels.host`. Returns `this`.
   */
  attach(...emitters: { on(event: 'alert', listener: (alert: Alert) => void): unknown }[]): this {
    for (const [i, emitter] of emitters.entries()) {
      if (typeof emitter?.on !== 'function') throw new InvalidOptionError(`emitters[${i}]`, emitter, 'an event emitter');
      this.listen(emitter, 'alert', (alert: Alert) => {
        this.handleAlert(alert).catch((error: unknown) => this.emitError(toError(error)));
      });
    }
    return this;
  }

  /**
   * Bans an address or network (`203.0.113.5`, `2001:db8::/64`, `198.51.100.0/24`).
   * Resolves with the ban once the firewall holds it — or with the existing ban that
   * already covers it — and with `undefined` when the address is spared (own address,
   * `ignore`, SSH session; a `'warning'` says which).
   *
   * @throws {@link InvalidOptionError} when `address` is not an address or network.
   * @throws {@link StateError} when the manager is not running.
   */
  async ban(address: string, options: BanCallOptions = {}): Promise<Ban | undefined> {
    const network = parseNetwork(address);
    if (!network) throw new InvalidOptionError('address', address, 'an IPv4 or IPv6 address or CIDR network');
    await this.#ready();
    let duration: number | undefined;
    if (options.duration !== undefined) {
      duration = typeof options.duration === 'number' ? options.duration : parseDuration(options.duration);
      if (duration === undefined || !Number.isFinite(duration) || duration < 1000) {
        throw new InvalidOptionError('duration', options.duration, 'a duration of at least 1s');
      }
      duration = Math.min(duration, 365 * 86_400_000);
    }
    return this.#ban(this.#banNetwork(network), options.rule ?? 'manual', safeText(options.reason ?? 'manual ban', { singleLine: true, max: 300 }), duration);
  }

  /**
   * Lifts the ban that holds `address` (its exact network or a wider one). Resolves with
   * the ban lifted, or `undefined` when none held it.
   *
   * @throws {@link InvalidOptionError} when `address` is not an address or network.
   */
  async unban(address: string): Promise<Ban | undefined> {
    const network = parseNetwork(address);
    if (!network) throw new InvalidOptionError('address', address, 'an IPv4 or IPv6 address or CIDR network');
    await this.#ready();
    this.#expireDue();
    const key = this.#bans.has(formatNetwork(network)) ? formatNetwork(network) : this.#coveringKey(network);
    if (key === undefined) return undefined;
    const stored = this.#bans.get(key) as StoredBan;
    this.#forget(key);
    await this.#commit([{ t: 'unban', address: key }], [], [stored]);
    this.#announceUnban(stored, 'manual');
    return toBan(stored, this.#networks.get(key) ?? (parseNetwork(key) as Network));
  }

  /** The bans in force, oldest first. */
  list(): Ban[] {
    this.#expireDue();
    return [...this.#bans.values()].sort((a, b) => a.since - b.since).map((b) => toBan(b, parseNetwork(b.address) as Network));
  }

  /** The ban that holds `address`, if any. */
  find(address: string): Ban | undefined {
    const network = parseNetwork(address);
    if (!network) return undefined;
    this.#expireDue();
    const n = this.#banNetwork(network);
    const key = this.#bans.has(formatNetwork(n)) ? formatNetwork(n) : this.#coveringKey(n);
    const stored = key === undefined ? undefined : this.#bans.get(key);
    return stored && toBan(stored, parseNetwork(stored.address) as Network);
  }

  protected async onStart(): Promise<void> {
    const now = this.clock();
    const adopted: StoredBan[] = [];
    if (this.#options.stateFile !== undefined) {
      const { file, state } = await BanStateFile.open(this.#options.stateFile);
      this.#state = file;
      for (const warning of state.warnings) this.emitWarning(warning);
      const forget = this.#options.escalation.forgetAfter;
      for (const offender of state.offenders.values()) if (offender.lastUntil + forget > now) this.#offenders.set(offender.address, offender);
      adopted.push(...[...state.bans.values()].filter((b) => b.until > now));
    } else if (this.#options.backend) {
      // No journal: what the firewall holds is the truth; adopt it rather than wipe it.
      for (const entry of await this.#options.backend.list()) {
        if (Number.isFinite(entry.until) && entry.until > now)
          adopted.push({ address: entry.address, rule: 'restored', reason: 'in the firewall at start', since: now, until: entry.until, count: 1 });
      }
    }
    // Wide bans first: a narrower one under a wider ban is dropped (a crash between
    // adding a subnet ban and removing what it holds leaves both in the journal).
    // (Each address parsed once: parsing inside the comparator made a 20,000-ban start slow.)
    const parsed = adopted.map((ban) => ({ ban, n: parseNetwork(ban.address) as Network })).sort((a, b) => a.n.prefix - b.n.prefix);
    for (const { ban, n } of parsed) {
      if (this.#coveringKey(n) === undefined) this.#remember(ban, n);
    }
    await this.#state?.compact(this.#snapshot());
    if (this.#options.backend) {
      this.#reconcile = await this.#options.backend.start([...this.#bans.values()].map(toEntry));
      this.#setCheck('firewall', true);
    }
    if (this.#state) this.#setCheck('state', true);
    this.#armTimer();
  }

  protected async onStop(): Promise<void> {
    this.#cancelTimer?.();
    this.#cancelRepair?.();
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#options.backend?.stop();
    await this.#state?.close();
  }

  async #ready(): Promise<void> {
    if (this.state === 'starting') await this.start();
    if (this.state !== 'running') throw new StateError(`BanManager is ${this.state}: call start() first`);
  }

  /**
   * What `attach()` does with each alert: bans `labels.host` of a firing alert of one of
   * `rules`, and resolves with the ban (or `undefined` when the alert is not one to ban on,
   * its host is not one address, or the address is spared — each with a `'warning'`).
   */
  async handleAlert(alert: Alert): Promise<Ban | undefined> {
    if (typeof alert !== 'object' || alert === null || alert.status !== 'firing' || !this.#options.rules.has(alert.rule)) return undefined;
    const host = alert.labels?.['host'];
    if (typeof host !== 'string' || host === '') {
      this.emitWarning(createWarning('ban.no-host', `Alert ${safeText(alert.rule, { singleLine: true, max: 300 })} has no host label; nothing to ban`));
      return undefined;
    }
    const network = parseNetwork(host);
    if (!network || !isSingle(network)) {
      this.emitWarning(
        createWarning(
          'ban.invalid-address',
          `Alert ${safeText(alert.rule, { singleLine: true, max: 300 })} names host "${safeText(host, { singleLine: true, max: 100 })}", which is not one IP address; not banned`,
        ),
      );
      return undefined;
    }
    if (this.state !== 'running') {
      this.emitWarning(
        createWarning('ban.not-running', `BanManager is ${this.state}; ${formatNetwork(network)} (${safeText(alert.rule, { singleLine: true, max: 300 })}) not banned`),
      );
      return undefined;
    }
    return this.#ban(this.#banNetwork(network), alert.rule, safeText(alert.title, { singleLine: true, max: 300 }));
  }

  // An IPv6 address is banned by its prefix (one host usually holds a whole /64).
  #banNetwork(n: Network): Network {
    return n.family === 6 && n.prefix > this.#options.ipv6Prefix ? widen(n, this.#options.ipv6Prefix) : n;
  }

  #coveringKey(n: Network): string | undefined {
    for (const length of this.#prefixLengths[n.family].keys()) {
      if (length > n.prefix) continue;
      const key = formatNetwork(widen(n, length));
      if (this.#bans.has(key)) return key;
    }
    return undefined;
  }

  async #ban(n: Network, rule: string, reason: string, duration?: number): Promise<Ban | undefined> {
    const now = this.clock();
    this.#expireDue(now);
    const key = formatNetwork(n);
    const spared = this.#spared.why(n, now);
    if (spared !== undefined) {
      this.emitWarning(createWarning('ban.ignored', `${key} is ${spared}; not banned (${safeText(rule, { singleLine: true, max: 300 })})`));
      return undefined;
    }
    const existing = this.#bans.get(key) ?? this.#bans.get(this.#coveringKey(n) ?? '');
    if (existing && (duration === undefined || existing.until >= now + duration)) {
      return toBan(existing, parseNetwork(existing.address) as Network);
    }
    const past = this.#offenders.get(key);
    const count = existing?.address === key ? existing.count : past && past.lastUntil + this.#options.escalation.forgetAfter > now ? past.count + 1 : 1;
    const until = now + (duration ?? this.#options.escalation.duration(count, this.#options.banTime, this.#options.maxBanTime));
    const stored: StoredBan = { address: key, rule, reason, since: existing?.address === key ? existing.since : now, until, count };
    // Narrower bans inside a new network ban end once the network ban is in place.
    const narrower = isSingle(n) ? [] : [...this.#bans.values()].filter((b) => b.address !== key && contains(n, this.#networks.get(b.address) as Network));
    this.#remember(stored, n);
    const records: StateRecord[] = [{ t: 'ban', ...stored }];
    await this.#commit(records, [stored], []);
    if (narrower.length > 0) {
      for (const b of narrower) this.#forget(b.address);
      await this.#commit(
        narrower.map((b) => ({ t: 'unban', address: b.address })),
        [],
        narrower,
      );
      for (const b of narrower) this.#announceUnban(b, 'widened');
    }
    const ban = toBan(stored, n);
    this.emitSafely('ban', { ban, mode: this.#options.mode });
    this.emitSafely('alert', banAlert(stored, this.#options.mode, 'firing', now));
    if (this.#subnets && rule !== 'subnet') {
      const subnet = this.#subnets.record(n, now);
      if (subnet) {
        const within = formatDuration(this.#options.subnet?.within ?? 0);
        void this.#ban(subnet, 'subnet', `${this.#options.subnet?.threshold} addresses of ${formatNetwork(subnet)} banned within ${within}`).catch((error: unknown) =>
          this.emitError(toError(error)),
        );
      }
    }
    return ban;
  }

  #remember(stored: StoredBan, n: Network): void {
    const previous = this.#bans.get(stored.address);
    if (!previous) {
      const lengths = this.#prefixLengths[n.family];
      lengths.set(n.prefix, (lengths.get(n.prefix) ?? 0) + 1);
    }
    this.#bans.set(stored.address, stored);
    this.#networks.set(stored.address, n);
    this.#offenders.set(stored.address, { address: stored.address, count: stored.count, lastUntil: stored.until });
    this.#expiry.push(stored.address, stored.until);
    if (stored.until < this.#timerAt) this.#armTimer();
  }

  #forget(key: string): void {
    const n = this.#networks.get(key);
    if (!this.#bans.delete(key) || !n) return;
    this.#networks.delete(key);
    const lengths = this.#prefixLengths[n.family];
    const left = (lengths.get(n.prefix) ?? 1) - 1;
    if (left === 0) lengths.delete(n.prefix);
    else lengths.set(n.prefix, left);
  }

  // The journal first, then the firewall: a ban is written to the journal file before its
  // nft transaction starts, so a crash in between leaves a ban the next start adds — never a
  // kernel element the next start would take for unknown and remove. The fdatasync runs
  // alongside the transaction: a SIGKILL keeps written data, and the power loss it guards
  // against empties the kernel's sets too. A failing journal (a full disk) must not stop
  // the ban itself.
  async #commit(records: StateRecord[], add: StoredBan[], remove: StoredBan[]): Promise<void> {
    const work = (async () => {
      let durable: Promise<void> | undefined;
      if (this.#state) {
        try {
          const receipt = this.#state.append(records);
          durable = receipt.durable;
          await receipt.written;
        } catch (error) {
          this.#journalFailed(error);
        }
      }
      const backend = this.#options.backend;
      const firewall = (async () => {
        if (!backend) return;
        try {
          await Promise.all([add.length > 0 ? backend.add(add.map(toEntry)) : undefined, remove.length > 0 ? backend.remove(remove.map(toEntry)) : undefined]);
          this.#setCheck('firewall', true);
        } catch (error) {
          this.#setCheck('firewall', false, error instanceof Error ? error.message : String(error));
          this.#scheduleRepair();
          throw error;
        }
      })();
      const journal = (async () => {
        if (!durable || !this.#state) return;
        try {
          await durable;
          this.#setCheck('state', true);
          if (this.#state.records > 2 * (this.#bans.size + this.#offenders.size) + 10_000) await this.#state.compact(this.#snapshot());
        } catch (error) {
          this.#journalFailed(error);
        }
      })();
      await Promise.all([firewall, journal]);
    })();
    this.#inflight.add(work);
    try {
      await work;
    } finally {
      this.#inflight.delete(work);
    }
  }

  #journalFailed(error: unknown): void {
    if (!this.#state) return;
    // One report per failure streak: a full disk must not flood the error channel.
    if (this.health().checks.find((c) => c.name === 'state')?.ok === false) return;
    this.#setCheck('state', false, error instanceof Error ? error.message : String(error));
    this.emitError(new IoError(`Cannot record bans in ${this.#state.path}; they hold in the firewall, but not across a reboot`, { path: this.#state.path, cause: error }));
  }

  // After a failed firewall write, the whole set is reconciled again (one transaction)
  // until it succeeds, so a ban accepted here is not left out of the kernel.
  #scheduleRepair(): void {
    if (this.#cancelRepair || this.stopping) return;
    this.#cancelRepair = this.setTimer(() => {
      this.#cancelRepair = undefined;
      const backend = this.#options.backend;
      if (!backend || this.stopping) return;
      const work = backend.start([...this.#bans.values()].map(toEntry)).then(
        () => this.#setCheck('firewall', true),
        (error: unknown) => {
          this.#setCheck('firewall', false, error instanceof Error ? error.message : String(error));
          this.#scheduleRepair();
        },
      );
      this.#inflight.add(work);
      void work.finally(() => this.#inflight.delete(work));
    }, REPAIR_DELAY);
  }

  #snapshot(): StateRecord[] {
    const records: StateRecord[] = [...this.#bans.values()].map((b) => ({ t: 'ban', ...b }));
    for (const offender of this.#offenders.values()) if (!this.#bans.has(offender.address)) records.push({ t: 'offender', ...offender });
    return records;
  }

  #expireDue(now = this.clock()): void {
    for (let next = this.#expiry.peek(); next && next.until <= now; next = this.#expiry.peek()) {
      this.#expiry.pop();
      const stored = this.#bans.get(next.key);
      // A stale heap entry: the ban was lifted or extended since.
      if (!stored || stored.until !== next.until) continue;
      this.#forget(next.key);
      this.#announceUnban(stored, 'expired');
    }
    // Bound the offenders' memory: forget those past the escalation window.
    if (this.#offenders.size > 2 * this.#bans.size + 1000) {
      for (const [key, o] of this.#offenders) if (!this.#bans.has(key) && o.lastUntil + this.#options.escalation.forgetAfter <= now) this.#offenders.delete(key);
    }
    this.#subnets?.prune(now);
  }

  #armTimer(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const next = this.#expiry.peek();
    if (!next || this.stopping) {
      this.#timerAt = Infinity;
      return;
    }
    this.#timerAt = next.until;
    const delay = Math.min(Math.max(next.until - this.clock(), 0), MAX_TIMER);
    this.#cancelTimer = this.setTimer(() => {
      this.#cancelTimer = undefined;
      this.#expireDue();
      this.#armTimer();
    }, delay);
  }

  #announceUnban(stored: StoredBan, reason: UnbanReason): void {
    const ban = toBan(stored, parseNetwork(stored.address) as Network);
    this.emitSafely('unban', { ban, reason, mode: this.#options.mode });
    this.emitSafely('alert', banAlert(stored, this.#options.mode, 'resolved', this.clock(), reason));
  }

  #setCheck(name: string, ok: boolean, message?: string): void {
    this.setHealthCheck(name, ok, message);
  }
}

function toEntry(stored: StoredBan): BanEntry {
  return { address: stored.address, until: stored.until };
}

function toBan(stored: StoredBan, n: Network): Ban {
  return { address: stored.address, prefix: n.prefix, rule: stored.rule, reason: stored.reason, since: new Date(stored.since), until: new Date(stored.until), count: stored.count };
}
