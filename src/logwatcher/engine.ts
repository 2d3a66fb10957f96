import { hostname as osHostname } from 'node:os';
import { createAlert, type Alert } from '../core/alert.js';
import { InvalidOptionError } from '../core/errors.js';
import { expectNumber, expectString } from '../core/validate.js';
import { systemClock, type Clock } from '../core/clock.js';
import { clockOption, rejectUnknownKeys } from '../core/options.js';
import { safeText } from '../core/text.js';
import { AttemptCounter, NO_CONNECTION, type Connection } from './attempts.js';
import { LineMatcher } from './matcher.js';
import { validateRules, type AttemptRole, type LogMatch, type LogRule } from './rule.js';
import { SuccessAfterFailures, type SuccessAfterFailuresOptions } from './success-after-failures.js';
import { LINE_TEXT, thresholdSpec, ThresholdTracker, VALUE_TEXT, type FailureRecord, type ThresholdSpec } from './threshold.js';

/** Options of {@link RuleEngine}. */
export interface RuleEngineOptions {
  /** The rules to match, e.g. {@link authRules} plus your own. */
  readonly rules: readonly LogRule[];
  /**
   * The `hostname` of raised alerts.
   *
   * @defaultValue this machine's host name
   */
  readonly hostname?: string;
  /**
   * The clock (ms since the epoch): the time of lines without a timestamp, and the
   * reference for the year of RFC 3164 timestamps.
   *
   * @defaultValue {@link systemClock}
   */
  readonly clock?: Clock;
  /**
   * How many of the latest lines an alert carries as evidence.
   *
   * @defaultValue 10
   */
  readonly maxEvidence?: number;
  /**
   * How many threshold keys (e.g. source addresses) are tracked at once; the least
   * recently seen idle ones are forgotten first, so a flood of addresses cannot exhaust memory.
   *
   * @defaultValue 100000
   */
  readonly maxKeys?: number;
  /**
   * The year of RFC 3164 timestamps.
   *
   * @defaultValue inferred from `now` (see {@link ParseSyslogOptions.year})
   */
  readonly year?: number;
  /**
   * Raise `auth.success-after-failures` (critical, labels `host` and `user`) when an
   * `'auth-success'` match comes from an address with counted `'auth-failure'` attempts in the
   * window; `false` turns it off.
   *
   * @defaultValue `{ failures: 3, within: 600000 }`
   */
  readonly successAfterFailures?: SuccessAfterFailuresOptions | false;
}

const ENGINE_KEYS = ['rules', 'hostname', 'clock', 'maxEvidence', 'maxKeys', 'year', 'successAfterFailures'] as const;

/** Where a line handed to {@link RuleEngine.handle} came from. */
export interface LineOrigin {
  /** The file (or source label) the line was read from. */
  readonly file: string;
  /** Its 1-based line number. */
  readonly lineNumber: number;
  /** Whether the reader cut the line because it exceeded its length limit. */
  readonly truncated?: boolean;
}

/** What {@link RuleEngine.handle} found in one line. */
export interface HandleResult {
  /** One entry per rule that matched the line. */
  matches: LogMatch[];
  /** Alerts raised by the line: firing ones, and resolved ones its time proved quiet. */
  alerts: Alert[];
  /**
   * The authentication attempts this line counted towards thresholds: usually its own match
   * or none (a further line of an attempt already counted), sometimes earlier lines of the
   * same connection that only now are known to be attempts or to come from an address.
   */
  attempts: LogMatch[];
}

/** What {@link RuleEngine.handle} needs to know of a rule, worked out once. */
interface RuleFacts {
  /** How its matches alert: per threshold, each one, or not at all. */
  readonly spec: ThresholdSpec | 'every' | undefined;
  /** How its match adds up to attempts, when it counts towards a threshold. */
  readonly attempt: AttemptRole;
  /** Its line makes its connection worth remembering (it counts, opens one, or is a failure). */
  readonly remembers: boolean;
  readonly authFailure: boolean;
  readonly authSuccess: boolean;
}

const NOTHING: HandleResult = Object.freeze({
  matches: Object.freeze([]) as unknown as LogMatch[],
  alerts: Object.freeze([]) as unknown as Alert[],
  attempts: Object.freeze([]) as unknown as LogMatch[],
});

/**
 * The rule engine behind the LogWatcher: matches lines against rules and turns matches
 * into Alerts by each rule's `alert` setting. It reads no files and sets no timers, so
 * the same lines give the same alerts whether they arrive live or from an old file:
 * thresholds and quiet windows are measured in the lines' own time.
 *
 * @example
 * const engine = new RuleEngine({ rules: authRules });
 * const { matches, alerts } = engine.handle(line, { file: '/var/log/auth.log', lineNumber: 1 });
 * setInterval(() => engine.sweep().forEach(send), 30_000); // resolved alerts in quiet times
 */
export class RuleEngine {
  readonly #matcher: LineMatcher;
  readonly #tracker: ThresholdTracker;
  readonly #facts = new Map<LogRule, RuleFacts>();
  readonly #hostname: string;
  readonly #clock: Clock;
  /** What handleLine returns, emptied and refilled by each call. */
  readonly #result: HandleResult = { matches: [], alerts: [], attempts: [] };
  readonly #attempts: AttemptCounter;
  readonly #success: SuccessAfterFailures | undefined;
  /** Alert rules counting auth-failure attempts per `host`: where success-after-failures looks. */
  readonly #hostRules = new Set<string>();

  /** @throws {@link InvalidOptionError} naming the faulty option or rule field. */
  constructor(options: RuleEngineOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
    rejectUnknownKeys('RuleEngine', options, ENGINE_KEYS);
    const rules = validateRules(options.rules);
    this.#clock = options.clock === undefined ? systemClock : clockOption('clock', options.clock);
    this.#hostname = options.hostname === undefined ? osHostname() : expectString('hostname', options.hostname);
    const maxEvidence = options.maxEvidence === undefined ? 10 : expectNumber('maxEvidence', options.maxEvidence, { min: 1, max: 1000, integer: true });
    const maxKeys = options.maxKeys === undefined ? 100_000 : expectNumber('maxKeys', options.maxKeys, { min: 1, integer: true });
    const year = options.year === undefined ? undefined : expectNumber('year', options.year, { min: 1970, max: 9999, integer: true });
    this.#matcher = new LineMatcher(rules, this.#clock, year);
    this.#tracker = new ThresholdTracker(this.#hostname, maxEvidence, maxKeys);
    // Connections are short-lived (LoginGraceTime): a few thousand are open at once even
    // under attack, so remembering the latest 16 384 is plenty and keeps memory small.
    this.#attempts = new AttemptCounter(Math.min(maxKeys, 16_384));
    this.#success = successOption(options.successAfterFailures, this.#hostname);
    const shared = new Map<string, ThresholdSpec>();
    rules.forEach((rule, i) => {
      const alert = rule.alert ?? 'never';
      let spec: ThresholdSpec | 'every' | undefined;
      if (alert === 'every') spec = 'every';
      else if (alert !== 'never') {
        spec = thresholdSpec(rule, alert);
        // Rules naming one alert rule share its counters, so they must count alike.
        const first = shared.get(spec.alertRule);
        if (first === undefined) shared.set(spec.alertRule, spec);
        else if (first.count !== spec.count || first.within !== spec.within || first.groupBy !== spec.groupBy || first.resolveAfter !== spec.resolveAfter) {
          throw new InvalidOptionError(`rules[${i}].alert`, alert, `the same count, within, groupBy and resolveAfter as the other rules raising '${spec.alertRule}'`);
        }
        if (spec.groupBy === 'host' && rule.tags.includes('auth-failure')) this.#hostRules.add(spec.alertRule);
      }
      const authFailure = rule.tags.includes('auth-failure');
      this.#facts.set(rule, {
        spec,
        attempt: rule.attempt ?? 'each',
        remembers: spec !== undefined || authFailure || rule.tags.includes('ssh-connection-open'),
        authFailure,
        authSuccess: rule.tags.includes('auth-success'),
      });
    });
  }

  /**
   * Matches one line and returns its matches and the alerts it raised. Thresholds count
   * by the line's own time (falling back to `now()`); a line whose time shows that a
   * firing key has been quiet long enough also yields that key's resolved alert.
   * A line that matched nothing returns one shared, frozen empty result (most lines
   * match nothing, and this runs for every line).
   */
  handle(line: string, origin: LineOrigin): HandleResult {
    const r = this.handleLine(line, origin.file, origin.lineNumber, origin.truncated === true, undefined);
    return r === NOTHING ? NOTHING : { matches: r.matches.slice(), alerts: r.alerts.slice(), attempts: r.attempts.slice() };
  }

  /**
   * {@link handle} for the LogWatcher: the origin's parts as arguments, `readAt` (when the
   * line was read, for a caller that read it with others: a clock reading costs more than
   * matching a line; undefined reads the clock when a match needs it), and a result that is
   * reused by the next call, so it must be consumed before then (no objects per line).
   *
   * @internal
   */
  handleLine(line: string, file: string, lineNumber: number, truncated: boolean, readAt: number | undefined): HandleResult {
    const result = this.#result;
    const matches = result.matches;
    // Setting length is a runtime call even when it is already 0, and this runs per line.
    if (matches.length !== 0) matches.length = 0;
    const n = this.#matcher.match(line, file, lineNumber, truncated, matches, readAt);
    if (n === 0) return NOTHING;
    if (result.alerts.length !== 0) result.alerts.length = 0;
    if (result.attempts.length !== 0) result.attempts.length = 0;
    const t = this.#matcher.time;
    this.#tracker.sweep(t, result.alerts);
    const facts = this.#facts;
    const attempts = this.#attempts;
    // Every match of a line shares its pid, so they share a connection.
    // A connection is remembered once a line counts, opens it, or lacks an address; a
    // line that only names the address (a close) updates a known one.
    let create = false;
    for (let i = 0; i < n; i++) if ((facts.get((matches[i] as LogMatch).rule) as RuleFacts).remembers) create = true;
    const conn = attempts.connection(matches[0] as LogMatch, t, create);
    if (conn !== NO_CONNECTION) {
      for (let i = 0; i < n; i++) {
        const match = matches[i] as LogMatch;
        if (match.fields.host !== undefined) attempts.address(conn, match, (facts.get(match.rule) as RuleFacts).authFailure);
      }
    }
    for (let i = 0; i < n; i++) {
      const match = matches[i] as LogMatch;
      const f = facts.get(match.rule) as RuleFacts;
      if (conn !== NO_CONNECTION && match.fields.host === undefined) attempts.address(conn, match, f.authFailure);
      const spec = f.spec;
      if (spec === 'every') result.alerts.push(this.#single(match, t));
      else if (spec !== undefined) {
        const counted = attempts.classify(conn, match, f.attempt);
        for (let k = 0; k < counted.length; k++) this.#count(spec, counted[k] as LogMatch, t, conn, result);
      }
      if (f.authSuccess) {
        const excused = attempts.success(conn, match);
        for (let k = 0; k < excused.length; k++) {
          const attempt = excused[k] as LogMatch;
          const s = (facts.get(attempt.rule) as RuleFacts).spec;
          if (s !== undefined && s !== 'every') this.#count(s, attempt, t, conn, result);
        }
        const host = match.fields.host;
        const alert = host === undefined || this.#success === undefined ? undefined : this.#success.success(match, t, this.#failuresOf(host));
        if (alert !== undefined) result.alerts.push(alert);
      }
    }
    const released = attempts.release(conn);
    for (let k = 0; k < released.length; k++) {
      const attempt = released[k] as LogMatch;
      const s = (facts.get(attempt.rule) as RuleFacts).spec;
      if (s !== undefined && s !== 'every') this.#count(s, attempt, t, NO_CONNECTION, result);
    }
    return result;
  }

  /** What the per-address thresholds of auth-failure rules have counted for `host`. */
  #failuresOf(host: string): FailureRecord[] {
    const out: FailureRecord[] = [];
    for (const rule of this.#hostRules) {
      const r = this.#tracker.peek(rule, host);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** Counts one attempt towards its threshold, or holds it until its connection names the group field. */
  #count(spec: ThresholdSpec, attempt: LogMatch, t: number, conn: Connection, result: HandleResult): void {
    if (spec.groupBy !== undefined && attempt.fields[spec.groupBy] === undefined) {
      if (conn !== NO_CONNECTION && spec.groupBy === 'host') this.#attempts.wait(conn, attempt);
      return;
    }
    const weight = attempt.repeated ?? 1;
    result.attempts.push(attempt);
    this.#tracker.observe(spec, attempt, t, weight, result.alerts);
  }

  /**
   * Resolved alerts for firing keys with no match for their `resolveAfter` window before
   * `now`, and forgets idle keys. The LogWatcher calls it on a timer.
   */
  sweep(now: number = this.#clock()): Alert[] {
    const alerts: Alert[] = [];
    this.#tracker.sweep(now, alerts, true);
    return alerts;
  }

  /** How many threshold keys are tracked right now (firing or counting). */
  get trackedKeys(): number {
    return this.#tracker.size;
  }

  #single(match: LogMatch, t: number): Alert {
    const { rule, fields } = match;
    const labels: Record<string, string> = {};
    const parts: string[] = [];
    if (fields.user !== undefined) {
      labels.user = safeText(fields.user, VALUE_TEXT);
      parts.push(`user ${labels.user}`);
    }
    if (fields.host !== undefined) {
      labels.host = safeText(fields.host, VALUE_TEXT);
      parts.push(`from ${labels.host}`);
    }
    if (match.program !== undefined) labels.program = safeText(match.program, VALUE_TEXT);
    const group = fields.host ?? fields.user;
    return createAlert({
      source: 'log',
      rule: rule.id,
      severity: rule.severity,
      key: group === undefined ? `log:${rule.id}` : `log:${rule.id}:${safeText(group, VALUE_TEXT)}`,
      title: parts.length > 0 ? `${rule.description}: ${parts.join(' ')}` : rule.description,
      summary: `${rule.description} (${match.file}:${match.lineNumber}).`,
      hostname: this.#hostname,
      time: new Date(t),
      labels,
      evidence: [safeText(match.line, LINE_TEXT)],
    });
  }
}

function successOption(value: SuccessAfterFailuresOptions | false | undefined, hostname: string): SuccessAfterFailures | undefined {
  if (value === false) return undefined;
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionError('successAfterFailures', value, '{ failures?, within? } or false');
  }
  const failures = value?.failures === undefined ? 3 : expectNumber('successAfterFailures.failures', value.failures, { min: 1, integer: true });
  const within = value?.within === undefined ? 600_000 : expectNumber('successAfterFailures.within', value.within, { min: 1 });
  return new SuccessAfterFailures({ failures, within }, hostname);
}
