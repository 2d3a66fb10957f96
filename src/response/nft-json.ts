/**
 * Reads the backend's table from `nft -j list table inet <name>`. The JSON is nft's own
 * (schema version 1); anything unexpected in it is skipped and reported, never guessed.
 */
import { network, parseNetwork, type Network } from './address.js';
import { SET_NAMES, type SetName } from './nft-script.js';

/** An element read back from the kernel. */
export interface KernelElement {
  /** The parsed element. */
  readonly network: Network;
  /** When the kernel drops it (ms since the epoch), or `undefined` without a timeout. */
  readonly until: number | undefined;
}

/** The backend's table as the kernel holds it. */
export interface KernelTable {
  /** The elements of each of the four sets (absent sets are empty). */
  readonly sets: ReadonlyMap<SetName, readonly KernelElement[]>;
  /** The named counters: packets and bytes dropped. */
  readonly counters: ReadonlyMap<string, { readonly packets: number; readonly bytes: number }>;
  /** The chain names. */
  readonly chains: readonly string[];
  /**
   * The table's chains and rules in a short form (`chain input hook input prio -10`,
   * `rule input @addr4 dropped4 drop`), compared with the expected layout so a restart
   * leaves an intact table alone.
   */
  readonly signature: readonly string[];
  /** Elements that could not be understood (a range that is not a prefix, a foreign value). */
  readonly unreadable: readonly string[];
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// A range [a, b] that covers exactly one prefix: nft prints such intervals as a range
// when they were added as one.
function rangeToNetwork(low: unknown, high: unknown): Network | undefined {
  if (typeof low !== 'string' || typeof high !== 'string') return undefined;
  const a = parseNetwork(low);
  const b = parseNetwork(high);
  if (!a || !b || a.family !== b.family || a.prefix !== b.prefix) return undefined;
  const span = b.value - a.value + 1n;
  if (span <= 0n || (span & (span - 1n)) !== 0n) return undefined;
  const bits = span.toString(2).length - 1;
  const n = network(a.family, a.value, a.prefix - bits);
  return n.value === a.value ? n : undefined;
}

function elementValue(val: unknown): Network | undefined {
  if (typeof val === 'string') return parseNetwork(val);
  if (!isObject(val)) return undefined;
  const prefix = val['prefix'];
  if (isObject(prefix) && typeof prefix['addr'] === 'string' && typeof prefix['len'] === 'number') {
    return parseNetwork(`${prefix['addr']}/${prefix['len']}`);
  }
  const range = val['range'];
  if (Array.isArray(range) && range.length === 2) return rangeToNetwork(range[0], range[1]);
  return undefined;
}

/**
 * Parses nft's JSON listing of one table. `at` (when the listing was asked for) turns the kernel's relative `expires`
 * (whole seconds) into an absolute time.
 *
 * @throws {SyntaxError} when the text is not JSON at all.
 */
export function parseKernelTable(text: string, at: number): KernelTable {
  const root: unknown = JSON.parse(text);
  const items = isObject(root) && Array.isArray(root['nftables']) ? (root['nftables'] as unknown[]) : [];
  const sets = new Map<SetName, KernelElement[]>();
  const counters = new Map<string, { packets: number; bytes: number }>();
  const chains: string[] = [];
  const unreadable: string[] = [];
  const signature: string[] = [];
  for (const item of items) {
    if (!isObject(item)) continue;
    const set = item['set'];
    if (isObject(set) && (SET_NAMES as readonly unknown[]).includes(set['name'])) {
      const elements: KernelElement[] = [];
      for (const raw of Array.isArray(set['elem']) ? (set['elem'] as unknown[]) : []) {
        const wrapped = isObject(raw) && isObject(raw['elem']) ? raw['elem'] : undefined;
        const n = elementValue(wrapped ? wrapped['val'] : raw);
        if (!n) {
          unreadable.push(JSON.stringify(raw).slice(0, 200));
          continue;
        }
        const expires = wrapped?.['expires'];
        elements.push({ network: n, until: typeof expires === 'number' ? at + expires * 1000 : undefined });
      }
      sets.set(set['name'] as SetName, elements);
    }
    const counter = item['counter'];
    if (isObject(counter) && typeof counter['name'] === 'string') {
      counters.set(counter['name'], { packets: Number(counter['packets'] ?? 0), bytes: Number(counter['bytes'] ?? 0) });
    }
    const chain = item['chain'];
    if (isObject(chain) && typeof chain['name'] === 'string') {
      chains.push(chain['name']);
      signature.push(`chain ${chain['name']} hook ${String(chain['hook'])} prio ${String(chain['prio'])} policy ${String(chain['policy'])}`);
    }
    const rule = item['rule'];
    if (isObject(rule) && Array.isArray(rule['expr'])) signature.push(`rule ${String(rule['chain'])} ${ruleSignature(rule['expr'] as unknown[])}`);
  }
  return { sets, counters, chains, unreadable, signature };
}

// The parts of a rule that matter here: the set it matches, the counter, the verdict.
function ruleSignature(expr: readonly unknown[]): string {
  const parts: string[] = [];
  for (const statement of expr) {
    if (!isObject(statement)) continue;
    const match = statement['match'];
    if (isObject(match) && typeof match['right'] === 'string') parts.push(match['right']);
    if (typeof statement['counter'] === 'string') parts.push(statement['counter']);
    if ('drop' in statement) parts.push('drop');
    if ('reject' in statement) parts.push('reject');
    if ('accept' in statement) parts.push('accept');
  }
  return parts.join(' ');
}
