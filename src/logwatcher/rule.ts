import { InvalidOptionError } from '../core/errors.js';
import { isSeverity, type Severity } from '../core/severity.js';

/**
 * A log rule: which lines it matches and when its matches become an Alert.
 * The same shape serves the built-in {@link authRules} and a user's own rules.
 *
 * @example
 * const nginxAuth: LogRule = {
 *   id: 'nginx.basic-auth',
 *   description: 'nginx basic-auth password mismatch',
 *   severity: 'warning',
 *   tags: ['auth-failure'],
 *   programs: ['nginx'],
 *   prefilter: 'password mismatch',
 *   pattern: /user "(?<user>[^"]*)": password mismatch, client: (?<host>[\w.:-]+)/,
 *   alert: { count: 10, within: 60_000, groupBy: 'host', rule: 'nginx.brute-force' },
 * };
 */
export interface LogRule {
  /** Stable id, e.g. `'sshd.failed-password'`; also the alert rule when `alert.rule` is not set. */
  readonly id: string;
  /** One human line saying what the rule catches. */
  readonly description: string;
  /** Severity of the alerts it raises (a threshold `alert` may override it). */
  readonly severity: Severity;
  /** Free-form tags; `'auth-failure'` marks failed or abusive attempts, `'auth-success'` logins. */
  readonly tags: readonly string[];
  /**
   * Matched against the syslog message (the text after `program[pid]: `). Named groups
   * become {@link LogMatch.fields}; groups that did not take part, or matched nothing, are left out.
   * The `g` and `y` flags are not allowed (they would make matching stateful).
   */
  readonly pattern: RegExp;
  /**
   * Only lines from these programs (the syslog tag, without a path), e.g. `['sshd', 'sshd-session']`.
   * Absent: any program. A line with no recognisable syslog prefix has no program; such
   * lines are still offered to every rule, so that bare messages can be tested.
   */
  readonly programs?: readonly string[];
  /**
   * Literal text (or several, all required) that must occur in the message before the
   * regular expression runs. Purely an optimisation: a wrong prefilter only loses matches.
   */
  readonly prefilter?: string | readonly string[];
  /**
   * When matches become Alerts.
   *
   * @defaultValue `'never'`
   */
  readonly alert?: RuleAlert;
  /**
   * How a match counts towards a threshold when the line belongs to a connection (it has a
   * pid: one OpenSSH connection writes several lines per attempt). See {@link AttemptRole}.
   *
   * @defaultValue `'each'`
   */
  readonly attempt?: AttemptRole;
}

/**
 * How the lines of one connection (same file, program and pid) add up to attempts, so that
 * the several lines OpenSSH writes for one failed login count once:
 * - `'each'`: every match is an attempt (`Failed password`), unless a `'prelude'` line of the
 *   same connection already counted it;
 * - `'prelude'`: a line logged before the attempt it belongs to (`Invalid user`, PAM's
 *   `error: PAM: Authentication failure`): counts, and the connection's next `'each'` line is
 *   the same attempt;
 * - `'connection'`: a line about the connection as a whole (`Connection closed by
 *   authenticating user`, `Disconnecting: Too many authentication failures`): counts only when
 *   no other line of the connection counted;
 * - `'unconfirmed'`: a line that may be followed by a success through another method
 *   (`pam_unix(sshd:auth): authentication failure` under a PAM stack with pam_ldap): counts
 *   only when the same connection then fails for another user or succeeds as another user.
 *
 * Lines without a pid always count as `'each'` (except `'unconfirmed'` ones, which never do).
 * A line without the threshold's `groupBy` field (say, no `host`) that counts waits for a later
 * line of its connection naming it.
 */
export type AttemptRole = 'each' | 'prelude' | 'connection' | 'unconfirmed';

/**
 * When a rule's matches become Alerts:
 * - `'never'`: matches are reported (`'match'` events) but raise nothing;
 * - `'every'`: each match raises its own firing Alert (for single, serious events);
 * - a {@link RuleThreshold}: `count` matches within `within` ms per `groupBy` value raise one
 *   firing Alert, which resolves after `resolveAfter` ms without a match (fail2ban's maxretry/findtime).
 */
export type RuleAlert = 'never' | 'every' | RuleThreshold;

/**
 * A threshold: `count` matches within `within` ms, counted per value of the `groupBy` field
 * by the lines' own timestamps.
 *
 * Several rules that name the same alert `rule` share one counter per group value,
 * so `Failed password` and `Invalid user` lines from one address add up.
 */
export interface RuleThreshold {
  /** How many matches fire the alert (fail2ban's `maxretry`). */
  readonly count: number;
  /** The sliding window in ms (fail2ban's `findtime`). */
  readonly within: number;
  /**
   * The field to count per, e.g. `'host'`. Matches without that field do not count.
   * Absent: one counter for the whole rule.
   */
  readonly groupBy?: string;
  /**
   * Quiet time in ms (no further match for the key) after which the firing alert resolves.
   *
   * @defaultValue `within`
   */
  readonly resolveAfter?: number;
  /**
   * Severity of the alert.
   *
   * @defaultValue the rule's `severity`
   */
  readonly severity?: Severity;
  /**
   * The alert's rule id, e.g. `'sshd.brute-force'`; rules naming the same one share counters.
   *
   * @defaultValue the rule's `id`
   */
  readonly rule?: string;
  /**
   * Title template. `{count}`, `{within}` (e.g. `10m`), `{group}` and `{<field>}` are replaced;
   * field values are sanitised (control characters escaped, length capped).
   *
   * @defaultValue `'<description>: <count> matches for <group> in <within>'`
   */
  readonly title?: string;
}

/** One line matched by one rule: the payload of the LogWatcher's `'match'` event and of {@link matchLines}. */
export interface LogMatch {
  /** The rule that matched (the object itself). */
  rule: LogRule;
  /** The whole line as read (CR stripped; cut when it exceeded the line limit). */
  line: string;
  /** Where the line came from (a path, or a label such as `'<lines>'`). */
  file: string;
  /** 1-based line number in `file`. */
  lineNumber: number;
  /** The line's own timestamp, or the time it was read when it has none. */
  time: Date;
  /** Named captures of the rule's pattern, such as `host`, `user`, `port`. */
  fields: Record<string, string>;
  /** The syslog program (tag) of the line, if it had one. */
  program?: string;
  /** The syslog pid of the line, if it had one. */
  pid?: number;
  /** The machine that logged the line (the syslog HOSTNAME), if the line names one. Not a remote peer. */
  syslogHost?: string;
  /** How many identical lines this stands for (rsyslog's `message repeated N times: [ … ]`). */
  repeated?: number;
  /** Set when the line was longer than the line limit and was cut. */
  truncated?: boolean;
}

/**
 * Checks a rule and returns it frozen, so mistakes surface where the rule is written
 * rather than at the first matching line.
 *
 * @throws {@link InvalidOptionError} naming the faulty field.
 * @example
 * export const myRule = defineRule({
 *   id: 'app.login-failed', description: 'Application login failed', severity: 'warning',
 *   tags: ['auth-failure'], pattern: /login failed for (?<user>\S+) from (?<host>\S+)/,
 *   alert: { count: 5, within: 600_000, groupBy: 'host' },
 * });
 */
export function defineRule(rule: LogRule): LogRule {
  validateRule(rule, 'rule');
  return Object.freeze({ ...rule, tags: Object.freeze([...rule.tags]) });
}

/** Validates a list of rules; the error names `rules[i].field`. @internal */
export function validateRules(rules: unknown, option = 'rules'): readonly LogRule[] {
  if (!Array.isArray(rules)) throw new InvalidOptionError(option, rules, 'an array of LogRule');
  const ids = new Set<string>();
  rules.forEach((rule: unknown, i) => {
    validateRule(rule, `${option}[${i}]`);
    const { id } = rule;
    if (ids.has(id)) throw new InvalidOptionError(`${option}[${i}].id`, id, 'an id not used by another rule');
    ids.add(id);
  });
  return rules as readonly LogRule[];
}

function validateRule(value: unknown, at: string): asserts value is LogRule {
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError(at, value, 'a LogRule object');
  const rule = value as Record<string, unknown>;
  for (const field of ['id', 'description'] as const) {
    if (typeof rule[field] !== 'string' || rule[field].length === 0) {
      throw new InvalidOptionError(`${at}.${field}`, rule[field], 'a non-empty string');
    }
  }
  if (!isSeverity(rule.severity)) throw new InvalidOptionError(`${at}.severity`, rule.severity, "one of 'info', 'warning', 'critical'");
  if (!Array.isArray(rule.tags) || !rule.tags.every((t) => typeof t === 'string')) {
    throw new InvalidOptionError(`${at}.tags`, rule.tags, 'an array of strings');
  }
  if (!(rule.pattern instanceof RegExp)) throw new InvalidOptionError(`${at}.pattern`, rule.pattern, 'a RegExp');
  if (rule.pattern.global || rule.pattern.sticky) {
    throw new InvalidOptionError(`${at}.pattern`, rule.pattern, 'a RegExp without the g or y flag');
  }
  if (rule.programs !== undefined) {
    if (!Array.isArray(rule.programs) || rule.programs.length === 0 || !rule.programs.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new InvalidOptionError(`${at}.programs`, rule.programs, 'a non-empty array of program names');
    }
  }
  if (rule.prefilter !== undefined) {
    const list: unknown[] = Array.isArray(rule.prefilter) ? rule.prefilter : [rule.prefilter];
    if (!list.every((p) => typeof p === 'string' && p.length > 0)) {
      throw new InvalidOptionError(`${at}.prefilter`, rule.prefilter, 'a non-empty string or an array of them');
    }
  }
  validateAlert(rule.alert, `${at}.alert`);
  if (rule.attempt !== undefined && !['each', 'prelude', 'connection', 'unconfirmed'].includes(rule.attempt as string)) {
    throw new InvalidOptionError(`${at}.attempt`, rule.attempt, "one of 'each', 'prelude', 'connection', 'unconfirmed'");
  }
}

function validateAlert(alert: unknown, at: string): void {
  if (alert === undefined || alert === 'never' || alert === 'every') return;
  if (typeof alert !== 'object' || alert === null) throw new InvalidOptionError(at, alert, "'never', 'every' or a threshold object");
  const t = alert as Record<string, unknown>;
  const positive = (field: string, integer: boolean): void => {
    const v = t[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
      throw new InvalidOptionError(`${at}.${field}`, v, integer ? 'an integer >= 1' : 'a finite number > 0 (ms)');
    }
  };
  positive('count', true);
  positive('within', false);
  if (t.resolveAfter !== undefined) positive('resolveAfter', false);
  for (const field of ['groupBy', 'rule', 'title'] as const) {
    if (t[field] !== undefined && (typeof t[field] !== 'string' || t[field].length === 0)) {
      throw new InvalidOptionError(`${at}.${field}`, t[field], 'a non-empty string');
    }
  }
  if (t.severity !== undefined && !isSeverity(t.severity)) {
    throw new InvalidOptionError(`${at}.severity`, t.severity, "one of 'info', 'warning', 'critical'");
  }
}
