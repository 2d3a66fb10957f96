import { InvalidOptionError } from '../core/errors.js';
import { expectArray, expectNumber, expectOneOf } from '../core/validate.js';
import { formatNetwork, isSingle, parseNetwork, type Network } from './address.js';
import type { BanBackend, BanEntry, BanReconcileReport } from './backend.js';
import { parseKernelTable, type KernelTable } from './nft-json.js';
import { NftCommandError, runNft } from './nft-process.js';
import { SetPlacement } from './nft-placement.js';
import {
  addressSet,
  counterName,
  elementsScript,
  layoutSignature,
  prefixSets,
  SET_NAMES,
  layoutScript,
  TABLE_NAME,
  type ElementChange,
  type NftAction,
  type NftHook,
  type NftLayout,
  type SetName,
} from './nft-script.js';
import { schedule, systemClock, type Clock } from '../core/clock.js';
import { clockOption, rejectUnknownKeys } from '../core/options.js';

/** Options of {@link NftablesBackend}. */
export interface NftablesBackendOptions {
  /**
   * The `inet` table the backend owns (and nothing else): letters, digits, `_`, at most
   * 15 characters.
   * @defaultValue `'hostwarden'`
   */
  readonly table?: string;
  /**
   * The hooks with a chain of ban rules. Add `'forward'` to protect containers and VMs
   * behind this host.
   * @defaultValue `['input']`
   */
  readonly hooks?: readonly NftHook[];
  /**
   * `'drop'` silently, or `'reject'` with ICMP administratively-prohibited.
   * @defaultValue `'drop'`
   */
  readonly action?: NftAction;
  /**
   * The chains' priority: below `filter` (0) so bans apply before other filter chains accept.
   * @defaultValue `-10`
   */
  readonly priority?: number;
  /**
   * The nft command as an argument array, for a namespace or a different path:
   * `['ip', 'netns', 'exec', 'guarded', 'nft']`. Never run through a shell.
   * @defaultValue `['nft']`
   */
  readonly nftCommand?: readonly string[];
  /**
   * How long (ms) writes wait to be gathered into one transaction. `0` sends what
   * arrived in the same turn of the event loop, and while one transaction runs the next
   * one gathers. At most 50.
   * @defaultValue `0`
   */
  readonly batchWindow?: number;
  /**
   * How long (ms) one nft run may take before it is killed and the write fails.
   * @defaultValue `30000`
   */
  readonly commandTimeout?: number;
  /**
   * The clock timeouts are computed by.
   * @defaultValue the system clock
   */
  readonly clock?: Clock;
}

const KNOWN_KEYS = ['table', 'hooks', 'action', 'priority', 'nftCommand', 'batchWindow', 'commandTimeout', 'clock'];

interface PendingWrite {
  readonly add: ElementChange[];
  readonly replace: ElementChange[];
  readonly remove: ElementChange[];
  readonly waiters: { resolve: () => void; reject: (error: Error) => void }[];
}

/** What {@link NftablesBackend.counters} reads: packets and bytes dropped per family. */
export interface NftCounters {
  /** Dropped IPv4 traffic. */
  readonly ipv4: NftCounter;
  /** Dropped IPv6 traffic. */
  readonly ipv6: NftCounter;
}

/** One named nft counter. */
export interface NftCounter {
  /** Packets counted. */
  readonly packets: number;
  /** Bytes counted. */
  readonly bytes: number;
}

/**
 * A {@link BanBackend} on nftables: its own `inet` table with, per family, a
 * `flags timeout` set for addresses and a `flags interval,timeout` set for prefixes,
 * static rules that drop (or reject) their sources on `input` (and `forward` when
 * asked) and count into named counters. Elements carry kernel timeouts, so bans expire
 * without the process. Writes are gathered into one `nft -f -` transaction; reads use
 * `nft -j list table`.
 *
 * @example
 * const backend = new NftablesBackend({ table: 'hostwarden', hooks: ['input'] });
 * const bans = new BanManager({ backend, stateFile: '/var/lib/hostwarden/bans.jsonl' });
 */
export class NftablesBackend implements BanBackend {
  /** The resolved layout of the table. */
  readonly layout: NftLayout;
  readonly #command: readonly string[];
  readonly #batchWindow: number;
  readonly #commandTimeout: number;
  readonly #clock: Clock;
  // What the kernel holds as far as this process knows, and in which set: decides add
  // vs. replace and where a prefix goes.
  readonly #placement = new SetPlacement();
  #pending: PendingWrite | undefined;
  #flushScheduled = false;
  #running: Promise<void> | undefined;
  #transactions = 0;

  constructor(options: NftablesBackendOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('NftablesBackend', options, KNOWN_KEYS);
    const table = options.table ?? 'hostwarden';
    if (typeof table !== 'string' || !TABLE_NAME.test(table)) throw new InvalidOptionError('table', table, 'an nft name of 1-15 letters, digits or _ starting with a letter');
    const hooks = [...(expectArray('hooks', options.hooks ?? ['input'], { nonEmpty: true }) as unknown[])].map((h, i) =>
      expectOneOf(`hooks[${i}]`, h, ['input', 'forward'] as const),
    );
    const action = expectOneOf('action', options.action ?? 'drop', ['drop', 'reject'] as const);
    const priority = expectNumber('priority', options.priority ?? -10, { integer: true, min: -400, max: 400 });
    const command = options.nftCommand ?? ['nft'];
    if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== 'string' || a.length === 0 || a.includes('\0'))) {
      throw new InvalidOptionError('nftCommand', command, 'a non-empty array of non-empty strings');
    }
    this.layout = Object.freeze({ table, hooks: Object.freeze([...new Set(hooks)]), action, priority });
    this.#command = Object.freeze([...(command as readonly string[])]);
    this.#batchWindow = expectNumber('batchWindow', options.batchWindow ?? 0, { min: 0, max: 50 });
    this.#commandTimeout = expectNumber('commandTimeout', options.commandTimeout ?? 30_000, { min: 100 });
    this.#clock = options.clock === undefined ? systemClock : clockOption('clock', options.clock);
  }

  /** How many `nft -f` transactions this backend has committed. */
  get transactions(): number {
    return this.#transactions;
  }

  async start(entries: readonly BanEntry[]): Promise<BanReconcileReport> {
    const current = await this.#readTable();
    const wanted = new Map<string, { network: Network; until: number }>();
    for (const entry of entries) {
      const n = parse(entry.address);
      wanted.set(formatNetwork(n), { network: n, until: entry.until });
    }
    const add: ElementChange[] = [];
    const replace: ElementChange[] = [];
    const remove: ElementChange[] = [];
    this.#placement.clear();
    if (current) {
      for (const [set, elements] of current.sets) {
        for (const element of elements) {
          const key = formatNetwork(element.network);
          const want = wanted.get(key);
          if (!want || this.#placement.setOf(key) !== undefined) {
            remove.push({ network: element.network, set });
            continue;
          }
          this.#placement.place(element.network, set);
          // Only a real difference is rewritten: the kernel reports whole seconds, counted
          // from when the transaction that added the element committed.
          if (element.until === undefined || element.until - want.until > 2000 || want.until - element.until > current.uncertainty + 2000) replace.push({ ...want, set });
        }
      }
    }
    // Narrow before wide, so a wide prefix finds the set its narrower ones are not in.
    const missing = [...wanted].filter(([key]) => this.#placement.setOf(key) === undefined).sort((a, b) => b[1].network.prefix - a[1].network.prefix);
    for (const [, want] of missing) add.push({ ...want, set: this.#place(want.network) });
    const now = this.#clock();
    // An intact table (a process restart) keeps its chains: rewriting them would make nft
    // load every element of every set just to check the rules.
    const intact = current !== undefined && SET_NAMES.every((name) => current.sets.has(name)) && sameLines(current.signature, layoutSignature(this.layout));
    const script = [...(intact ? [] : layoutScript(this.layout)), ...elementsScript(this.layout.table, { add, replace, remove }, now)];
    await this.#transaction(script);
    return { existed: current !== undefined, added: add.length, removed: remove.length, updated: replace.length };
  }

  // Picks the set for a new element and records it there.
  #place(n: Network): SetName {
    const set = this.#placement.choose(n);
    if (set === undefined) {
      throw new InvalidOptionError('address', formatNetwork(n), 'a network that does not overlap banned prefixes in both prefix sets (unban the narrower ones first)');
    }
    this.#placement.place(n, set);
    return set;
  }

  add(entries: readonly BanEntry[]): Promise<void> {
    // Validate and place everything before queueing anything: a bad entry fails the call
    // alone, never the batch it would have joined.
    const changes: { change: ElementChange; known: boolean }[] = [];
    try {
      for (const entry of entries) {
        const n = parse(entry.address);
        const known = this.#placement.setOf(formatNetwork(n));
        changes.push({ change: { network: n, set: known ?? this.#place(n), until: entry.until }, known: known !== undefined });
      }
    } catch (error) {
      for (const { change, known } of changes) if (!known) this.#placement.remove(formatNetwork(change.network));
      throw error;
    }
    const pending = this.#queue();
    for (const { change, known } of changes) (known ? pending.replace : pending.add).push(change);
    return this.#wait(pending);
  }

  remove(entries: readonly BanEntry[]): Promise<void> {
    const changes: ElementChange[] = [];
    for (const entry of entries) {
      const n = parse(entry.address);
      const key = formatNetwork(n);
      const set = this.#placement.setOf(key);
      this.#placement.remove(key);
      if (set) changes.push({ network: n, set });
      // Not placed by this process: it may still be in any set it fits.
      else for (const candidate of isSingle(n) ? [addressSet(n)] : prefixSets(n.family)) changes.push({ network: n, set: candidate });
    }
    const pending = this.#queue();
    pending.remove.push(...changes);
    return this.#wait(pending);
  }

  async list(): Promise<BanEntry[]> {
    const table = await this.#readTable();
    if (!table) return [];
    // The kernel lists only live elements; its `expires` is whole seconds, so filtering
    // by the clock here would drop elements in their last second.
    const out: BanEntry[] = [];
    for (const elements of table.sets.values()) {
      for (const element of elements) out.push({ address: formatNetwork(element.network), until: element.until ?? Number.POSITIVE_INFINITY });
    }
    return out;
  }

  /** Packets and bytes the ban rules dropped, per family; zeros when the table is absent. */
  async counters(): Promise<NftCounters> {
    const table = await this.#readTable();
    const read = (family: 4 | 6) => table?.counters.get(counterName(family)) ?? { packets: 0, bytes: 0 };
    return { ipv4: read(4), ipv6: read(6) };
  }

  /** Whether the table exists in the kernel now (`doctor` uses it). */
  async tableExists(): Promise<boolean> {
    return (await this.#readTable()) !== undefined;
  }

  async stop(): Promise<void> {
    // Writes already accepted are committed; the kernel keeps the bans after the process.
    while (this.#running || this.#pending) {
      if (this.#pending && !this.#running) this.#flush();
      await this.#running?.catch(() => {});
    }
  }

  #queue(): PendingWrite {
    if (!this.#pending) this.#pending = { add: [], replace: [], remove: [], waiters: [] };
    if (!this.#flushScheduled && !this.#running) this.#scheduleFlush();
    return this.#pending;
  }

  #wait(pending: PendingWrite): Promise<void> {
    return new Promise((resolve, reject) => pending.waiters.push({ resolve, reject }));
  }

  #scheduleFlush(): void {
    this.#flushScheduled = true;
    const run = (): void => {
      this.#flushScheduled = false;
      this.#flush();
    };
    // A write someone awaits must be sent even if nothing else holds the process open:
    // the window's timer is persistent (at most 50 ms), and window 0 is the next turn of
    // the event loop (setImmediate, not a timer: what arrived in this turn goes together).
    if (this.#batchWindow > 0) schedule(run, this.#batchWindow, { persistent: true });
    else setImmediate(run);
  }

  #flush(): void {
    const batch = this.#pending;
    if (!batch || this.#running) return;
    this.#pending = undefined;
    const script = elementsScript(this.layout.table, batch, this.#clock());
    this.#running = (async () => {
      try {
        try {
          await this.#transaction(script);
        } catch (error) {
          // The table may have been deleted under us (nft flush ruleset, a reboot of the
          // firewall service): recreate it in the same transaction and try once more.
          if (!(error instanceof NftCommandError)) throw error;
          await this.#transaction([...layoutScript(this.layout), ...script]);
        }
        for (const waiter of batch.waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of batch.waiters) waiter.reject(error as Error);
      } finally {
        this.#running = undefined;
        if (this.#pending && !this.#flushScheduled) this.#scheduleFlush();
      }
    })();
  }

  async #transaction(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    await runNft(this.#command, ['-f', '-'], `${lines.join('\n')}\n`, this.#commandTimeout);
    this.#transactions++;
  }

  // nft reports whole seconds left at the moment it dumps, somewhere between the start and
  // the end of the command: expiries are computed from the start, and `uncertainty` says
  // how much later they may be.
  async #readTable(): Promise<(KernelTable & { readonly uncertainty: number }) | undefined> {
    const before = this.#clock();
    try {
      const { stdout } = await runNft(this.#command, ['-j', 'list', 'table', 'inet', this.layout.table], undefined, this.#commandTimeout);
      return { ...parseKernelTable(stdout, before), uncertainty: this.#clock() - before + 1000 };
    } catch (error) {
      if (error instanceof NftCommandError && /No such file or directory/.test(error.stderr)) return undefined;
      throw error;
    }
  }
}

function parse(address: string): Network {
  const n = parseNetwork(address);
  if (!n) throw new InvalidOptionError('address', address, 'an IPv4 or IPv6 address or network');
  return n;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
}
