import type { LogMatch, LogRule } from './rule.js';
import { CandidateTree, type Candidate, type TreeRule } from './candidates.js';
import { firstChars, literalPrefixes, literalSuffix, numberGroups, stickyVariant } from './pattern.js';
import { detach } from './detach.js';
import { startsAt } from './starts-at.js';
import { normalizeHost } from './host.js';
import { PrefixScan, pidOf, scanPrefix, skipMessagePrefix, timeOf } from './syslog.js';

/** A rule prepared for the hot path. @internal */
interface CompiledRule extends TreeRule {
  readonly rule: LogRule;
  /** Literal text the message must end with, from a `…literal$` pattern. */
  readonly suffix: string | undefined;
  readonly regex: RegExp;
  /**
   * The same pattern without its leading `^` and with the `y` flag: run on the whole line
   * from the message offset, it spares slicing the message out. Undefined when the
   * rewrite would change the meaning (lookbehind, another `^`, the `m` flag).
   */
  readonly sticky: RegExp | undefined;
  /** Capture index of each named group, in `regex` (which has the names stripped). */
  readonly groupIndex: readonly number[];
  /** The name of each of those groups. */
  readonly groupName: readonly string[];
}

/** Candidate rules by the message's first characters. */
type Dispatch = CandidateTree<CompiledRule>;

const REPEATED = 'message repeated ';
/** Programs remembered with their tables (a power of two). */
const PROGRAM_SLOTS = 64;

interface KnownProgram {
  readonly name: string;
  readonly table: Dispatch;
}

function dispatch(rules: readonly CompiledRule[]): Dispatch {
  return new CandidateTree(rules);
}

/**
 * Matches lines against a rule list: one prefix scan per line, rules picked by program
 * and by the literal prefixes the message starts with (one walk of a {@link CandidateTree}),
 * then a literal suffix, prefilter literals, and only then a regular expression.
 *
 * @internal
 */
export class LineMatcher {
  readonly #byProgram = new Map<string, Dispatch>();
  /** Rules without a `programs` list: for lines whose program no rule names. */
  readonly #anyProgram: Dispatch;
  /** Every rule: for lines without a recognisable program. */
  readonly #all: Dispatch;
  readonly #scan = new PrefixScan();
  readonly #now: () => number;
  readonly #year: number | undefined;
  /**
   * Programs seen and their tables, by a slot from the name's length and end characters.
   * A log interleaves a handful of programs (sshd, CRON, sudo…): comparing in place against
   * one of these spares slicing the name and hashing it into #byProgram for nearly every line.
   */
  readonly #programs: (KnownProgram | undefined)[] = new Array<KnownProgram | undefined>(PROGRAM_SLOTS).fill(undefined);
  #program = '';
  /** Epoch ms of the last matched line, set by {@link match}. */
  time = 0;

  /**
   * Per distinct prefilter literal: the line (#lineSerial) it was last searched for, and
   * whether it was found. Rules sharing a literal (the `Failed …` rules all need ` from `,
   * the `Received disconnect` ones theirs) search each line for it once.
   */
  readonly #literalSeen: Int32Array;
  readonly #literalFound: Uint8Array;
  #lineSerial = 0;

  constructor(rules: readonly LogRule[], now: () => number, year?: number) {
    const literalIndex = new Map<string, number>();
    const compiled = rules.map((rule) => compile(rule, literalIndex));
    this.#literalSeen = new Int32Array(literalIndex.size);
    this.#literalFound = new Uint8Array(literalIndex.size);
    this.#all = dispatch(compiled);
    this.#anyProgram = dispatch(compiled.filter((c) => c.rule.programs === undefined));
    const names = new Set(rules.flatMap((r) => r.programs ?? []));
    for (const name of names) {
      this.#byProgram.set(name, dispatch(compiled.filter((c) => c.rule.programs === undefined || c.rule.programs.includes(name))));
    }
    this.#now = now;
    this.#year = year;
  }

  /**
   * Appends the matches of `line` to `out` and returns how many were added.
   * When any matched, {@link time} holds the line's time (its own, else now).
   * `readAt`: when the line was read, if the caller read it with others (lines of one read
   * share one reading of the clock, which costs more than matching a line); else the clock
   * is read when a match needs it.
   */
  match(line: string, file: string, lineNumber: number, truncated: boolean, out: LogMatch[], readAt?: number): number {
    const s = this.#scan;
    scanPrefix(line, s);
    let table: Dispatch;
    if (s.progStart < 0) table = this.#all;
    else table = this.#tableFor(line, s.progStart, s.progEnd - s.progStart);

    let start = s.msgStart;
    const first = line.charCodeAt(start);
    if (first === 91 /* [ */ || first === 107 /* k */) start = skipMessagePrefix(line, start);
    let end = line.length;
    let repeated = 0;
    if (line.charCodeAt(start) === 109 /* m */ && line.startsWith(REPEATED, start)) {
      const inner = this.#unwrapRepeated(line, start);
      if (inner > 0) {
        repeated = this.#repeatCount;
        start = inner;
        end = line.charCodeAt(end - 1) === 93 ? end - 1 : end;
      }
    }
    const candidates = table.candidates(line, start, end);
    if (candidates.length === 0) return 0;

    let message: string | undefined;
    let detached = false;
    let added = 0;
    // 0 marks "never searched"; when the serial wraps to it, every stamp is cleared, so a
    // stamp from 2^32 lines ago can never pass for this line's.
    let serial = (this.#lineSerial + 1) | 0;
    if (serial === 0) {
      this.#literalSeen.fill(0);
      serial = 1;
    }
    this.#lineSerial = serial;
    outer: for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i] as Candidate<CompiledRule>;
      const c = candidate.rule;
      const suffix = c.suffix;
      // Before any search: comparing the end costs a character or two on most lines.
      if (suffix !== undefined && (end - suffix.length < start || !startsAt(line, end - suffix.length, suffix))) continue;
      const literals = candidate.literals;
      for (let j = 0; j < literals.length; j++) {
        const id = candidate.literalIds[j] as number;
        if (this.#literalSeen[id] !== serial) {
          this.#literalSeen[id] = serial;
          this.#literalFound[id] = line.indexOf(literals[j] as string, start) < 0 ? 0 : 1;
        }
        if (this.#literalFound[id] === 0) continue outer;
      }
      if (!detached) {
        // The line is a slice of a whole decoded read: copied before the first regex runs
        // on it (nearly every line that gets this far matches), so that the captures are
        // slices of the copy and a kept line or field holds at most its line.
        line = detach(line);
        detached = true;
      }
      let m: RegExpExecArray | null;
      if (c.sticky !== undefined && end === line.length) {
        c.sticky.lastIndex = start;
        m = c.sticky.exec(line);
      } else {
        message ??= line.slice(start, end);
        m = c.regex.exec(message);
      }
      if (m === null) continue;
      if (added === 0) {
        const now = readAt ?? this.#now();
        const t = timeOf(s, line, now, this.#year);
        this.time = Number.isNaN(t) ? now : t;
      }
      const fields: Record<string, string> = {};
      const names = c.groupName;
      for (let k = 0; k < names.length; k++) {
        const name = names[k] as string;
        const index = c.groupIndex[k] as number;
        const value = m[index];
        if (value === undefined || value.length === 0) continue;
        fields[name] = name === 'host' ? normalizeHost(value) : value;
      }
      const time = new Date(this.time);
      const pid = pidOf(s, line);
      let result: LogMatch;
      if (s.progStart >= 0 && pid >= 0 && s.hostStart >= 0) {
        // The usual syslog line has all three: built whole, one object shape and no
        // property store added after it is made.
        result = { rule: c.rule, line, file, lineNumber, time, fields, program: this.#program, pid, syslogHost: this.#hostOf(line, s.hostStart, s.hostEnd) };
      } else {
        result = { rule: c.rule, line, file, lineNumber, time, fields };
        if (s.progStart >= 0) result.program = this.#program;
        if (pid >= 0) result.pid = pid;
        if (s.hostStart >= 0) result.syslogHost = this.#hostOf(line, s.hostStart, s.hostEnd);
      }
      if (repeated > 1) result.repeated = repeated;
      if (truncated) result.truncated = true;
      out.push(result);
      added++;
    }
    return added;
  }

  #repeatCount = 0;
  #host = '';

  /** line[start, end), the syslog host: the string of the last one when it is the same host (a log is mostly one). */
  #hostOf(line: string, start: number, end: number): string {
    const host = this.#host;
    if (host.length === end - start && startsAt(line, start, host)) return host;
    return (this.#host = detach(line.slice(start, end)));
  }

  /** The table for the program at `line[start, start + len)`; sets #program to its name. */
  #tableFor(line: string, start: number, len: number): Dispatch {
    // The slot is picked by the name's length and its first and last characters, so the
    // one name compared in place is nearly always the right one (a log interleaves sshd,
    // CRON, sudo…, which took turns at the front of a most-recent list).
    const slot = (len * 31 + line.charCodeAt(start) * 7 + line.charCodeAt(start + len - 1)) & (PROGRAM_SLOTS - 1);
    let entry = this.#programs[slot];
    if (entry === undefined || entry.name.length !== len || !startsAt(line, start, entry.name)) {
      const name = line.slice(start, start + len);
      entry = { name: detach(name), table: this.#byProgram.get(name) ?? this.#anyProgram };
      this.#programs[slot] = entry;
    }
    this.#program = entry.name;
    return entry.table;
  }

  /**
   * rsyslog folds identical lines into `message repeated N times: [ inner]`; the inner
   * message is what rules must see, and it stands for N lines. Returns the offset of
   * `inner` (count in #repeatCount), or -1.
   */
  #unwrapRepeated(line: string, start: number): number {
    let p = start + REPEATED.length;
    let n = 0;
    const d = p;
    while (p - d < 9) {
      const c = line.charCodeAt(p);
      if (c < 48 || c > 57) break;
      n = n * 10 + c - 48;
      p++;
    }
    if (p === d || !line.startsWith(' times: [', p)) return -1;
    p += 9;
    if (line.charCodeAt(p) === 32) p++;
    this.#repeatCount = n;
    return p;
  }
}

function compile(rule: LogRule, literalIndex: Map<string, number>): CompiledRule {
  const literals = rule.prefilter === undefined ? [] : typeof rule.prefilter === 'string' ? [rule.prefilter] : [...rule.prefilter];
  const literalIds = literals.map((literal) => {
    let id = literalIndex.get(literal);
    if (id === undefined) literalIndex.set(literal, (id = literalIndex.size));
    return id;
  });
  const flags = rule.pattern.flags.replace(/[gyd]/g, '');
  const numbered = numberGroups(rule.pattern.source);
  return {
    rule,
    prefixes: literalPrefixes(rule.pattern),
    suffix: literalSuffix(rule.pattern),
    first: firstChars(rule.pattern),
    literals,
    literalIds,
    regex: new RegExp(numbered.source, flags),
    sticky: stickyVariant(numbered.source, flags),
    groupIndex: numbered.groups.map(([index]) => index),
    groupName: numbered.groups.map(([, name]) => name),
  };
}
