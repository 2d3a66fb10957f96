// Wazuh's rule 40112 chain: a login that succeeds from an address that was just failing is
// the moment a brute force worked (or an intruder with a guessed password came back). It is
// an event, not a condition: each such login is its own alert, keyed by its time and pid, so
// dedup never hides a second one.
import { createAlert, type Alert } from '../core/alert.js';
import { safeText } from '../core/text.js';
import type { LogMatch } from './rule.js';
import { formatDuration, LINE_TEXT, USER_TEXT, VALUE_TEXT, type FailureRecord } from './threshold.js';

/** Options of the success-after-failures detection (LogWatcher / RuleEngine `successAfterFailures`). */
export interface SuccessAfterFailuresOptions {
  /**
   * How many counted failed attempts from the address, within `within` before the
   * success, make it suspicious. One mistyped password followed by a login is everyday
   * life, and this alert is a ban trigger, hence more than one.
   *
   * @defaultValue 3
   */
  readonly failures?: number;
  /**
   * The window in ms before the success.
   *
   * @defaultValue 600000 (10 minutes, the brute-force window)
   */
  readonly within?: number;
}

/** The rule id of the alert (*fixed*). */
export const SUCCESS_AFTER_FAILURES = 'auth.success-after-failures';

const MAX_EVIDENCE = 6;
const MAX_USERS = 10;

/** @internal */
export class SuccessAfterFailures {
  readonly #failures: number;
  readonly #within: number;
  readonly #hostname: string;
  /** Addresses whose failures already raised this alert, with the time: used up. */
  readonly #usedUp = new Map<string, number>();

  constructor(options: Required<SuccessAfterFailuresOptions>, hostname: string) {
    this.#failures = options.failures;
    this.#within = options.within;
    this.#hostname = hostname;
  }

  /** A successful login at log time `t`: the alert when its address was failing, else undefined. */
  success(match: LogMatch, t: number, records: readonly FailureRecord[]): Alert | undefined {
    const host = match.fields.host;
    if (host === undefined || records.length === 0) return undefined;
    // Failures before an earlier alert for this address were used up by it.
    const since = this.#usedUp.get(host) ?? Number.NEGATIVE_INFINITY;
    const from = Math.max(since, t - this.#within);
    let count = 0;
    const evidence: string[] = [];
    const users = new Set<string>();
    for (const r of records) {
      let n = 0;
      for (const x of r.times) if (x > from && x <= t) n++;
      // While a brute-force alert fires its times are not extended: it had at least `count`.
      if (r.firing && r.last > from && r.last <= t) n = Math.max(n, r.count);
      if (n === 0) continue;
      count += n;
      evidence.push(...r.evidence.slice(-MAX_EVIDENCE));
      for (const u of r.users) if (users.size < MAX_USERS) users.add(u);
    }
    if (count < this.#failures) return undefined;
    this.#usedUp.set(host, t);
    if (this.#usedUp.size > 10_000) this.#usedUp.clear();
    const user = safeText(match.fields.user ?? '', VALUE_TEXT);
    const safeHost = safeText(host, VALUE_TEXT);
    const tried = [...users].map((u) => safeText(u, USER_TEXT));
    const when = new Date(t);
    return createAlert({
      source: 'log',
      rule: SUCCESS_AFTER_FAILURES,
      severity: 'critical',
      key: `log:${SUCCESS_AFTER_FAILURES}:${safeHost}:${user}:${when.toISOString()}:${match.pid ?? match.lineNumber}`,
      title: `Login as ${user || 'unknown user'} from ${safeHost} after ${count} failed attempts in ${formatDuration(this.#within)}`,
      summary: [
        `${count} failed attempt${count === 1 ? '' : 's'} from ${safeHost} within ${formatDuration(this.#within)} before this successful login (${match.rule.id}, ${match.file}:${match.lineNumber}).`,
        ...(tried.length > 0 ? [`Users tried: ${tried.join(', ')}${users.size >= MAX_USERS ? ', …' : ''}.`] : []),
      ].join('\n'),
      hostname: this.#hostname,
      time: when,
      labels: { host: safeHost, user, ...(match.program !== undefined ? { program: safeText(match.program, VALUE_TEXT) } : {}) },
      evidence: [...evidence.slice(-MAX_EVIDENCE).map((line) => safeText(line, LINE_TEXT)), safeText(match.line, LINE_TEXT)],
    });
  }
}
