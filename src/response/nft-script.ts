/**
 * Writes nft transactions as text for `nft -f -`. Only values that passed a strict check
 * reach the text: table and set names from a fixed alphabet, addresses re-printed from
 * their parsed form, timeouts as integers. Nothing from a log line is ever pasted in.
 */
import { formatNetwork, type Network } from './address.js';

/** The netfilter hooks the ban rules can sit on. */
export type NftHook = 'input' | 'forward';

/** What the rules do with a banned source. */
export type NftAction = 'drop' | 'reject';

/** The shape of the backend's table. */
export interface NftLayout {
  /** The `inet` table's name. */
  readonly table: string;
  /** The hooks with a chain of ban rules. */
  readonly hooks: readonly NftHook[];
  /** `drop` or `reject`. */
  readonly action: NftAction;
  /** The chains' priority (below 0 runs before the usual `filter` chains). */
  readonly priority: number;
}

/**
 * The sets, per family: single addresses (hash, `flags timeout`), and prefixes
 * (`flags interval,timeout`) in two sets, `net` and `wide`. The kernel refuses overlapping
 * intervals in one set, even when the narrower one is deleted in the same transaction; a
 * prefix that holds narrower banned prefixes goes into the other set first, and only
 * then are the narrower ones removed, so no address is let in between.
 */
export const SET_NAMES = ['addr4', 'net4', 'wide4', 'addr6', 'net6', 'wide6'] as const;
/** One of {@link SET_NAMES}. */
export type SetName = (typeof SET_NAMES)[number];

const ALL_HOOKS: readonly NftHook[] = ['input', 'forward'];

/** The longest element timeout written: kernels before 6.x overflow far beyond it. */
export const MAX_ELEMENT_TIMEOUT_MS = 365 * 86_400_000;

/** nft identifiers the backend accepts as a table name: ≤ 15 characters for old nft. */
export const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,14}$/;

/** The set for a single address of a family. */
export function addressSet(n: Network): SetName {
  return n.family === 4 ? 'addr4' : 'addr6';
}

/** The two prefix sets of a family. */
export function prefixSets(family: 4 | 6): readonly [SetName, SetName] {
  return family === 4 ? ['net4', 'wide4'] : ['net6', 'wide6'];
}

/** The named counter of a family's drops. */
export function counterName(family: 4 | 6): string {
  return `dropped${family}`;
}

/**
 * The statements that create the table, sets, counters, chains and rules, or bring an
 * existing table to this layout. `add` of an existing object is a no-op and each chain
 * is flushed and refilled inside the same transaction, so packets never see a chain
 * without its rules.
 */
export function layoutScript(layout: NftLayout): string[] {
  const t = `inet ${layout.table}`;
  const lines = [`add table ${t}`];
  for (const name of SET_NAMES) {
    const type = name.endsWith('4') ? 'ipv4_addr' : 'ipv6_addr';
    const flags = name.startsWith('addr') ? 'timeout' : 'interval,timeout';
    lines.push(`add set ${t} ${name} { type ${type}; flags ${flags}; }`);
  }
  for (const family of [4, 6] as const) lines.push(`add counter ${t} ${counterName(family)}`);
  const verdict = layout.action === 'drop' ? 'drop' : 'reject with icmpx admin-prohibited';
  for (const hook of ALL_HOOKS) {
    lines.push(`add chain ${t} ${hook} { type filter hook ${hook} priority ${layout.priority}; policy accept; }`, `flush chain ${t} ${hook}`);
    if (!layout.hooks.includes(hook)) {
      lines.push(`delete chain ${t} ${hook}`);
      continue;
    }
    for (const name of SET_NAMES) {
      const family = name.endsWith('4') ? 4 : 6;
      const match = family === 4 ? 'ip saddr' : 'ip6 saddr';
      lines.push(`add rule ${t} ${hook} ${match} @${name} counter name ${counterName(family)} ${verdict}`);
    }
  }
  return lines;
}

/** The short form of the layout's chains and rules, as {@link parseKernelTable} reads them back. */
export function layoutSignature(layout: NftLayout): string[] {
  const out: string[] = [];
  for (const hook of ALL_HOOKS) {
    if (!layout.hooks.includes(hook)) continue;
    out.push(`chain ${hook} hook ${hook} prio ${layout.priority} policy accept`);
    for (const name of SET_NAMES) {
      const family = name.endsWith('4') ? 4 : 6;
      out.push(`rule ${hook} @${name} ${counterName(family)} ${layout.action}`);
    }
  }
  return out;
}

/** The text of a network for nft, from its parsed form (never the caller's text). */
function element(n: Network): string {
  return formatNetwork(n);
}

function timeout(until: number, at: number): string {
  // The kernel needs a positive timeout; an entry due now lives one more second.
  const ms = Math.min(Math.max(Math.ceil(until - at), 1000), MAX_ELEMENT_TIMEOUT_MS);
  return `${ms}ms`;
}

/** An element change of a transaction. */
export interface ElementChange {
  readonly network: Network;
  /** The set it is (or goes) in. */
  readonly set: SetName;
  /** For additions: when the kernel drops it. */
  readonly until?: number;
}

function grouped(changes: readonly ElementChange[]): Map<SetName, ElementChange[]> {
  const bySet = new Map<SetName, ElementChange[]>();
  for (const change of changes) {
    const set = change.set;
    let list = bySet.get(set);
    if (!list) bySet.set(set, (list = []));
    list.push(change);
  }
  return bySet;
}

/** Chunks keep single statements (and nft's parser buffers) small. */
const CHUNK = 2000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/**
 * Statements for one transaction:
 * - `add`: new elements with their timeouts;
 * - `replace`: elements that may exist, given a new timeout (the kernel keeps an existing
 *   element's timeout on `add`, so each is ensured, deleted and added again — inside one
 *   transaction, so it is never absent);
 * - `remove`: elements deleted whether they exist or not (ensured first, because deleting
 *   a missing element would fail the whole transaction).
 */
export function elementsScript(
  table: string,
  changes: { readonly add?: readonly ElementChange[]; readonly replace?: readonly ElementChange[]; readonly remove?: readonly ElementChange[] },
  at: number,
): string[] {
  const t = `inet ${table}`;
  const lines: string[] = [];
  const withTimeout = (c: ElementChange): string => `${element(c.network)} timeout ${timeout(c.until ?? at, at)}`;
  const bare = (c: ElementChange): string => element(c.network);
  for (const [set, list] of grouped([...(changes.remove ?? []), ...(changes.replace ?? [])])) {
    for (const part of chunks(list)) {
      const names = part.map(bare).join(', ');
      lines.push(`add element ${t} ${set} { ${names} }`, `delete element ${t} ${set} { ${names} }`);
    }
  }
  for (const [set, list] of grouped([...(changes.replace ?? []), ...(changes.add ?? [])])) {
    for (const part of chunks(list)) lines.push(`add element ${t} ${set} { ${part.map(withTimeout).join(', ')} }`);
  }
  return lines;
}
