// Which rules a message can match, decided from its first characters: the rules' literal
// prefixes (pattern.ts) merged into one tree per rule table, walked once per line.
import { startsAt } from './starts-at.js';

/** What {@link CandidateTree} needs to know of a rule. @internal */
export interface TreeRule {
  /** Literal texts one of which the message must start with; undefined: not known. */
  readonly prefixes: readonly string[] | undefined;
  /** Char codes (< 128) a match can start with; undefined: any. */
  readonly first: ReadonlySet<number> | undefined;
  /** Literals that must all occur in the message. */
  readonly literals: readonly string[];
  /** Each literal's index in the matcher's table of distinct literals. */
  readonly literalIds: readonly number[];
}

/**
 * A rule to try on a message, with the prefilter literals still to search for: those
 * inside the prefix the message was found to start with are known to occur already.
 *
 * @internal
 */
export interface Candidate<R extends TreeRule> {
  readonly rule: R;
  readonly literals: readonly string[];
  readonly literalIds: readonly number[];
}

/** A point of the walk: the text from the message start to here is known. */
interface TreeNode<R extends TreeRule> {
  /** The rules to try when the walk ends here, in rule order. */
  readonly candidates: readonly Candidate<R>[];
  /** The character each branch starts with… */
  readonly codes: readonly number[];
  /** …the text that must follow it (chains without a branch or a rule's prefix end, merged)… */
  readonly labels: readonly string[];
  /** …and where it leads. */
  readonly next: readonly TreeNode<R>[];
}

/** The tree before it is frozen: one node per character. */
interface Building {
  readonly children: Map<number, Building>;
  /** Indexes of the rules one of whose prefixes ends here. */
  readonly ends: Set<number>;
}

const NON_ASCII = 128;

/**
 * The rules of one table arranged by their literal prefixes: a message is walked
 * character by character once, each distinct prefix character compared once, and the
 * rules whose prefixes it does not start with are never visited. Rules without known
 * prefixes are picked by their possible first characters; the rest of a rule's
 * pattern and its prefilters are left to the matcher.
 *
 * @internal
 */
export class CandidateTree<R extends TreeRule> {
  /** The node after each first character: ASCII codes, then one for the rest. */
  readonly #entry: readonly TreeNode<R>[];

  constructor(rules: readonly R[]) {
    const roots: Building[] = [];
    const always: Set<number>[] = [];
    for (let c = 0; c <= NON_ASCII; c++) {
      roots.push({ children: new Map(), ends: new Set() });
      always.push(new Set());
    }
    rules.forEach((rule, index) => {
      if (rule.prefixes === undefined) {
        for (let c = 0; c <= NON_ASCII; c++) if (rule.first === undefined || (c < NON_ASCII && rule.first.has(c))) always[c]?.add(index);
        return;
      }
      for (const text of rule.prefixes) {
        const c = text.charCodeAt(0);
        // A non-ASCII start shares one bucket with all others: the rule is simply tried.
        if (c >= NON_ASCII) {
          always[NON_ASCII]?.add(index);
          continue;
        }
        let node = roots[c] as Building;
        for (let i = 1; i < text.length; i++) {
          const code = text.charCodeAt(i);
          let child = node.children.get(code);
          if (child === undefined) node.children.set(code, (child = { children: new Map(), ends: new Set() }));
          node = child;
        }
        node.ends.add(index);
      }
    });
    this.#entry = roots.map((root, c) => freeze(rules, root, String.fromCharCode(c), always[c] as Set<number>));
  }

  /** The rules the message line[start, end) may match, in rule order, with the literals each still needs. */
  candidates(line: string, start: number, end: number): readonly Candidate<R>[] {
    const c = line.charCodeAt(start);
    let node = this.#entry[c < NON_ASCII ? c : NON_ASCII] as TreeNode<R>;
    let p = start + 1;
    while (p < end) {
      const codes = node.codes;
      const ch = line.charCodeAt(p);
      let k = 0;
      while (k < codes.length && codes[k] !== ch) k++;
      if (k === codes.length) break;
      const label = node.labels[k] as string;
      const from = p + 1;
      if (from + label.length > end || !startsAt(line, from, label)) break;
      node = node.next[k] as TreeNode<R>;
      p = from + label.length;
    }
    return node.candidates;
  }
}

/** The frozen node for `at`, reached by the text `path`; `inherited`: rules whose prefixes ended before. */
function freeze<R extends TreeRule>(rules: readonly R[], at: Building, path: string, inherited: ReadonlySet<number>): TreeNode<R> {
  const here = new Set([...inherited, ...at.ends]);
  const codes: number[] = [];
  const labels: string[] = [];
  const next: TreeNode<R>[] = [];
  for (const [code, child] of at.children) {
    let label = '';
    let node = child;
    while (node.ends.size === 0 && node.children.size === 1) {
      const [c, only] = node.children.entries().next().value as [number, Building];
      label += String.fromCharCode(c);
      node = only;
    }
    codes.push(code);
    labels.push(label);
    next.push(freeze(rules, node, path + String.fromCharCode(code) + label, here));
  }
  const candidates = [...here]
    .sort((a, b) => a - b)
    .map((index) => {
      const rule = rules[index] as R;
      // The message starts with `path`: literals inside it need no search. (For the
      // non-ASCII bucket the path is not known: nothing is dropped.)
      const keep = rule.literals.map((literal, i) => (path.charCodeAt(0) < NON_ASCII && path.includes(literal) ? -1 : i)).filter((i) => i >= 0);
      return { rule, literals: keep.map((i) => rule.literals[i] as string), literalIds: keep.map((i) => rule.literalIds[i] as number) };
    });
  return { candidates, codes, labels, next };
}
