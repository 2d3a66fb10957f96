import { createAlert, resolveAlert, type Alert } from '../core/alert.js';
import { formatDuration } from '../core/format.js';
import { safeText, type SafeTextOptions } from '../core/text.js';
import type { Severity } from '../core/severity.js';
import { detach } from './detach.js';
import type { LogMatch, LogRule, RuleThreshold } from './rule.js';

/** A threshold resolved against its rule. @internal */
export interface ThresholdSpec {
  readonly alertRule: string;
  readonly count: number;
  readonly within: number;
  readonly groupBy: string | undefined;
  readonly resolveAfter: number;
  readonly severity: Severity;
  readonly title: string | undefined;
  readonly description: string;
}

interface KeyState {
  readonly spec: ThresholdSpec;
  readonly group: string;
  /** Where the state is kept: its alert rule's table, under the group made safe to show. */
  readonly table: Map<string, KeyState>;
  readonly slot: string;
  /**
   * Times of the latest matches (at most 4 × count, at most two windows old), sorted.
   * Undefined while the key has seen one match of weight 1, at `first`: see {@link ThresholdTracker.observe}.
   */
  times: number[] | undefined;
  first: number;
  last: number;
  total: number;
  /** The latest `maxEvidence` lines, unsanitized but capped (see evidenceText); the one line while `times` is undefined. */
  evidence: string[] | string;
  /** The rules that matched, each once (a few); the one rule while `times` is undefined. */
  rules: string[] | string;
  /** The distinct users tried, at most MAX_USERS; undefined until one is; the one user while `times` is undefined. */
  users: string[] | string | undefined;
  firing: Alert | undefined;
  /** Neighbours in the tracker's least-recently-updated order (see ThresholdTracker#head). */
  older: KeyState | undefined;
  newer: KeyState | undefined;
}

/** Turns a key's one-match form into the full one; returns its times. */
function expand(state: KeyState): number[] {
  const times = [state.first];
  state.times = times;
  state.evidence = [state.evidence as string];
  state.rules = [state.rules as string];
  if (state.users !== undefined) state.users = [state.users as string];
  return times;
}

/** The users a key has seen. */
function usersOf(state: KeyState): readonly string[] {
  const users = state.users;
  return users === undefined ? NO_USERS : typeof users === 'string' ? [users] : users;
}

/** The evidence lines a key holds. */
function evidenceOf(state: KeyState): readonly string[] {
  return typeof state.evidence === 'string' ? [state.evidence] : state.evidence;
}

/** The key of a state's alerts. */
function keyOf(state: KeyState): string {
  return state.spec.groupBy === undefined ? `log:${state.spec.alertRule}` : `log:${state.spec.alertRule}:${state.slot}`;
}

/** A key's counted failures, as {@link ThresholdTracker.peek} shows them. @internal */
export interface FailureRecord {
  /** Times of the latest counted matches (not extended while the alert fires). */
  readonly times: readonly number[];
  readonly firing: boolean;
  readonly last: number;
  /** The latest lines (raw, capped). */
  readonly evidence: readonly string[];
  readonly users: readonly string[];
  /** The threshold's count. */
  readonly count: number;
}

/** Most distinct user names listed in a summary. */
const MAX_USERS = 20;

const NO_USERS: readonly string[] = Object.freeze([]);

/** The users tried, made safe to show, with `…` when the list reached its bound. */
function usersText(users: readonly string[]): string {
  return users.map((u) => safeText(u, USER_TEXT)).join(', ') + (users.length >= MAX_USERS ? ', …' : '');
}

/** @internal */
export function thresholdSpec(rule: LogRule, t: RuleThreshold): ThresholdSpec {
  return Object.freeze({
    alertRule: t.rule ?? rule.id,
    count: t.count,
    within: t.within,
    groupBy: t.groupBy,
    resolveAfter: t.resolveAfter ?? t.within,
    severity: t.severity ?? rule.severity,
    title: t.title,
    description: rule.description,
  });
}

/**
 * Counts matches per alert rule and group value in sliding windows of log time, fires
 * one alert per key when a threshold is crossed, absorbs further matches while it fires,
 * and resolves it after a quiet window. Memory is bounded by `maxKeys`.
 *
 * @internal
 */
export class ThresholdTracker {
  /** Per alert rule, its keys by group (lookup only: the order is kept by #head and #tail). */
  readonly #tables = new Map<string, Map<string, KeyState>>();
  /**
   * Every key of every table in one list, least recently updated first (#head) to most
   * recently (#tail): an update moves the key to the tail. One order across the alert rules,
   * as when all keys were in one map: eviction must take the key updated longest ago, never
   * the one just updated whose line carries an older time (a late file), and the idle scan
   * stops at the first active key of any rule. A list through the keys, not a Set or a Map
   * re-inserted on every update: V8 rebuilds a long-lived hash table's storage in the old
   * generation as deletions fill it, and that churn made a long drain's heap (and RSS) grow.
   */
  #head: KeyState | undefined;
  #tail: KeyState | undefined;
  #size = 0;
  readonly #hostname: string;
  readonly #maxEvidence: number;
  readonly #maxKeys: number;
  #nextDeadline = Number.POSITIVE_INFINITY;
  #observed = 0;

  constructor(hostname: string, maxEvidence: number, maxKeys: number) {
    this.#hostname = hostname;
    this.#maxEvidence = maxEvidence;
    this.#maxKeys = maxKeys;
  }

  /** Number of keys being tracked (for tests and diagnostics). */
  get size(): number {
    return this.#size;
  }

  /** Counts one match (`weight` lines, for rsyslog's repeated messages) at log time `t`. */
  observe(spec: ThresholdSpec, match: LogMatch, t: number, weight: number, alerts: Alert[]): void {
    let group = '';
    if (spec.groupBy !== undefined) {
      const value = match.fields[spec.groupBy];
      if (value === undefined) return;
      group = value;
    }
    let table = this.#tables.get(spec.alertRule);
    if (table === undefined) this.#tables.set(spec.alertRule, (table = new Map<string, KeyState>()));
    // The group value may be attacker-chosen text (a user name): keys are shown too.
    const slot = safeText(group, VALUE_TEXT);
    let state = table.get(slot);
    if (state !== undefined && state.firing !== undefined && t - state.last >= spec.resolveAfter) {
      alerts.push(this.#resolve(state));
      state = undefined;
    }
    const user = match.fields.user;
    if (state === undefined && weight === 1 && spec.count > 1) {
      // Most keys see one match and are forgotten a window later (the long tail of an
      // attack's addresses). Kept as one small object, no arrays: they live long enough to
      // outlast a young-generation collection, so whatever they hold is copied, promoted
      // and then collected from the old generation, which made thresholds a third of a
      // busy drain. One match of weight 1 cannot cross a count above 1.
      const single: KeyState = {
        spec,
        group,
        table,
        slot,
        times: undefined,
        first: t,
        last: t,
        total: 1,
        evidence: evidenceText(match.line),
        rules: match.rule.id,
        users: user,
        firing: undefined,
        older: undefined,
        newer: undefined,
      };
      table.set(slot, single);
      this.#append(single);
      this.#size++;
      this.#afterObserve(t, alerts);
      return;
    }
    if (state === undefined) {
      state = {
        spec,
        group,
        table,
        slot,
        times: [],
        first: t,
        last: t,
        total: 0,
        evidence: [],
        rules: [],
        users: undefined,
        firing: undefined,
        older: undefined,
        newer: undefined,
      };
      table.set(slot, state);
      this.#size++;
    } else {
      // Moved to the tail: the order is least recently updated first (see #prune).
      this.#unlink(state);
    }
    this.#append(state);
    const times = state.times ?? expand(state);
    state.total += weight;
    if (t > state.last) state.last = t;
    if (t < state.first) state.first = t;
    const rules = state.rules as string[];
    if (!rules.includes(match.rule.id)) rules.push(match.rule.id);
    if (user !== undefined) {
      const users = state.users as string[] | undefined;
      if (users === undefined) state.users = [user];
      else if (users.length < MAX_USERS && !users.includes(user)) users.push(user);
    }
    // Raw (capped) lines, sanitized only when an alert is built: most matches never make one.
    const ev = state.evidence as string[];
    ev.push(evidenceText(match.line));
    if (ev.length > this.#maxEvidence) ev.shift();

    const inWindow = state.firing === undefined ? this.#crossed(times, t, Math.min(weight, spec.count), spec) : 0;
    if (inWindow > 0) {
      state.firing = this.#fire(state, match, t, inWindow);
      alerts.push(state.firing);
      this.#nextDeadline = Math.min(this.#nextDeadline, state.last + spec.resolveAfter);
    }
    this.#afterObserve(t, alerts);
  }

  #afterObserve(t: number, alerts: Alert[]): void {
    if (++this.#observed % 4096 === 0 || this.#size > this.#maxKeys) this.#prune(t, alerts);
  }

  /**
   * Records `n` matches at `t` in the sorted `times`; returns how many matches the
   * fullest window of `within` ms now holds when that reaches `count`, else 0. Lines from
   * several files can arrive out of order, so the window is not simply "the last `within`
   * ms before the newest line": a late line still completes the burst it belongs to.
   * Times more than two windows older than the newest are forgotten, and at most
   * 4 × count are kept.
   */
  #crossed(times: number[], t: number, n: number, spec: ThresholdSpec): number {
    let i = times.length;
    while (i > 0 && (times[i - 1] as number) > t) i--;
    // In-order lines (the usual case) append; only a late line is spliced in.
    if (i === times.length) for (let k = 0; k < n; k++) times.push(t);
    else for (let k = 0; k < n; k++) times.splice(i, 0, t);
    const newest = times[times.length - 1] as number;
    let drop = 0;
    while (drop < times.length && (times[drop] as number) < newest - 2 * spec.within) drop++;
    drop = Math.max(drop, times.length - 4 * spec.count);
    if (drop > 0) times.splice(0, drop);
    let most = 0;
    for (let lo = 0, hi = 0; hi < times.length; hi++) {
      while ((times[hi] as number) - (times[lo] as number) > spec.within) lo++;
      most = Math.max(most, hi - lo + 1);
    }
    return most >= spec.count ? most : 0;
  }

  /**
   * Resolves firing keys quiet for their resolve window at log time `t` and forgets idle
   * keys. Unless `force`d it returns at once when nothing can be due (the per-line call).
   */
  sweep(t: number, alerts: Alert[], force = false): void {
    if (!force && t < this.#nextDeadline && this.#size <= this.#maxKeys) return;
    let next = Number.POSITIVE_INFINITY;
    // In the one order, so resolved notices come least recently updated first.
    for (let state = this.#head, newer; state !== undefined; state = newer) {
      newer = state.newer;
      if (state.firing === undefined) continue;
      const deadline = state.last + state.spec.resolveAfter;
      if (deadline <= t) alerts.push(this.#resolve(state));
      else next = Math.min(next, deadline);
    }
    this.#nextDeadline = next;
    this.#prune(t, alerts);
  }

  /**
   * What a key has counted: for auth.success-after-failures, which asks about an address's
   * recent failures without keeping a second record of them.
   */
  peek(alertRule: string, group: string): FailureRecord | undefined {
    const state = this.#tables.get(alertRule)?.get(safeText(group, VALUE_TEXT));
    if (state === undefined) return undefined;
    return {
      times: state.times ?? [state.first],
      firing: state.firing !== undefined,
      last: state.last,
      evidence: evidenceOf(state),
      users: usersOf(state),
      count: state.spec.count,
    };
  }

  /** The time the next firing alert may resolve at, or +Infinity. */
  get nextDeadline(): number {
    return this.#nextDeadline;
  }

  #prune(t: number, alerts: Alert[]): void {
    // Least recently updated first: forget idle counting keys up to the first active one
    // (firing ones wait for their resolved notice from sweep).
    for (let state = this.#head, newer; state !== undefined; state = newer) {
      newer = state.newer;
      if (state.last >= t - state.spec.within) break;
      if (state.firing === undefined) this.#forget(state);
    }
    // Still over the bound (an attack from more addresses than maxKeys, e.g. rotating
    // IPv6): evict the least recently updated keys. A firing one is resolved early, saying
    // so, rather than dropped without a resolved notice or kept without limit.
    for (let state = this.#head, newer; state !== undefined; state = newer) {
      newer = state.newer;
      if (this.#size <= this.#maxKeys) break;
      if (state.firing !== undefined) alerts.push(this.#resolve(state, `Resolved early: more than ${this.#maxKeys} keys tracked at once.`));
      else this.#forget(state);
    }
  }

  #forget(state: KeyState): void {
    state.table.delete(state.slot);
    this.#unlink(state);
    this.#size--;
  }

  /** Puts a key (new, or unlinked) at the most recent end of the order. */
  #append(state: KeyState): void {
    state.older = this.#tail;
    state.newer = undefined;
    if (this.#tail === undefined) this.#head = state;
    else this.#tail.newer = state;
    this.#tail = state;
  }

  /** Takes a key out of the order (its neighbours join). */
  #unlink(state: KeyState): void {
    if (state.older === undefined) this.#head = state.newer;
    else state.older.newer = state.newer;
    if (state.newer === undefined) this.#tail = state.older;
    else state.newer.older = state.older;
    state.older = state.newer = undefined;
  }

  #fire(state: KeyState, match: LogMatch, t: number, count: number): Alert {
    const { spec } = state;
    const labels: Record<string, string> = {};
    if (spec.groupBy !== undefined) labels[spec.groupBy] = safeText(state.group, VALUE_TEXT);
    const host = match.fields.host;
    if (host !== undefined && labels.host === undefined) labels.host = safeText(host, VALUE_TEXT);
    // Every user tried (bounded), not the one of the line that crossed the threshold:
    // `user` when there was exactly one, `users` always when there were any.
    const users = usersOf(state);
    if (labels.user === undefined && users.length === 1) labels.user = safeText(users[0] as string, VALUE_TEXT);
    if (users.length > 0) labels.users = usersText(users);
    if (match.program !== undefined) labels.program = safeText(match.program, VALUE_TEXT);
    return createAlert({
      source: 'log',
      rule: spec.alertRule,
      severity: spec.severity,
      key: keyOf(state),
      title: renderTitle(spec, state, match, count),
      summary: this.#summary(state),
      hostname: this.#hostname,
      time: new Date(t),
      labels,
      evidence: this.#evidence(state),
    });
  }

  /** The latest `maxEvidence` lines of a key, made safe to show. */
  #evidence(state: KeyState): string[] {
    return evidenceOf(state).map((line) => safeText(line, LINE_TEXT));
  }

  #resolve(state: KeyState, why?: string): Alert {
    const firing = state.firing as Alert;
    this.#forget(state);
    return resolveAlert(firing, {
      time: new Date(why === undefined ? state.last + state.spec.resolveAfter : state.last),
      title: `Resolved: ${firing.title}`,
      summary: `${this.#summary(state)}\n${why ?? `Quiet for ${formatDuration(state.spec.resolveAfter)} since ${new Date(state.last).toISOString()}.`}`,
      evidence: this.#evidence(state),
    });
  }

  #summary(state: KeyState): string {
    const what = state.group === '' ? '' : ` for ${state.spec.groupBy ?? 'key'} ${safeText(state.group, VALUE_TEXT)}`;
    const lines = [
      `${state.total} match${state.total === 1 ? '' : 'es'}${what} between ${new Date(state.first).toISOString()} and ${new Date(state.last).toISOString()} (threshold ${state.spec.count} in ${formatDuration(state.spec.within)}).`,
      `Rules: ${typeof state.rules === 'string' ? state.rules : state.rules.join(', ')}.`,
    ];
    if (state.users !== undefined) lines.push(`Users tried: ${usersText(usersOf(state))}.`);
    return lines.join('\n');
  }
}

function renderTitle(spec: ThresholdSpec, state: KeyState, match: LogMatch, count: number): string {
  const within = formatDuration(spec.within);
  const template = spec.title ?? `${spec.description}: {count} matches${spec.groupBy === undefined ? '' : ' for {group}'} in {within}`;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    if (name === 'count') return String(count);
    if (name === 'within') return within;
    if (name === 'group') return safeText(state.group, VALUE_TEXT);
    const value = match.fields[name];
    return value === undefined ? whole : safeText(value, VALUE_TEXT);
  });
}

/**
 * How a field value is shown (core safeText): one line, control, bidi and zero-width
 * characters escaped, at most 200 characters before the closing `…`.
 * @internal
 */
export const VALUE_TEXT: SafeTextOptions = { singleLine: true, max: 201 };

/** How one user name of a list is shown: as {@link VALUE_TEXT}, at most 64 characters. @internal */
export const USER_TEXT: SafeTextOptions = { singleLine: true, max: 65 };

/** How an evidence line is shown: as {@link VALUE_TEXT}, at most 1000 characters. @internal */
export const LINE_TEXT: SafeTextOptions = { singleLine: true, max: 1001 };

/**
 * What a key keeps of an evidence line until an alert is built: the line itself, or for a
 * long one a copy of just enough of it that `safeText(line, LINE_TEXT)` gives the same result
 * (1001 characters still say "longer than 1000"), so kept lines stay small.
 */
function evidenceText(line: string): string {
  return line.length <= 1001 ? line : detach(line.slice(0, 1001));
}

export { formatDuration };
