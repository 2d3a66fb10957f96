// Wazuh's rule 40112 chain: a login that succeeds from an address that was just failing is
// the moment a brute force worked (or an intruder with a guessed password came back). It is
// an event, not a condition: each such login is its own alert, keyed by its time and pid, so
// dedup never hides a second one.
import { createAlert, type Alert } from '../core/alert.js';
import type { LogMatch } from './rule.js';
import { formatDuration, sanitizeLine, sanitizeValue } from './threshold.js';

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

const MAX_EVIDENCE = 10;
const MAX_USERS = 10;

interface Failures {
  readonly times: number[];
  readonly evidence: string[];
  readonly users: Set<string>;
}

/** @internal */
export class SuccessAfterFailures {
  readonly #byHost = new Map<string, Failures>();
  readonly #failures: number;
  readonly #within: number;
  readonly #maxHosts: number;
  readonly #hostname: string;

  constructor(options: Required<SuccessAfterFailuresOptions>, maxHosts: number, hostname: string) {
    this.#failures = options.failures;
    this.#within = options.within;
    this.#maxHosts = maxHosts;
    this.#hostname = hostname;
  }

  /** Records a counted failed attempt (with its `host`) at log time `t`. */
  failure(match: LogMatch, t: number, weight: number): void {
    const host = match.fields.host;
    if (host === undefined) return;
    let f = this.#byHost.get(host);
    if (f === undefined) f = { times: [], evidence: [], users: new Set() };
    else this.#byHost.delete(host);
    this.#byHost.set(host, f);
    for (let i = 0; i < weight && i < this.#failures + 1; i++) f.times.push(t);
    while (f.times.length > 4 * this.#failures + 4) f.times.shift();
    f.evidence.push(match.line.length > 1001 ? match.line.slice(0, 1001) : match.line);
    if (f.evidence.length > MAX_EVIDENCE) f.evidence.shift();
    const user = match.fields.user;
    if (user !== undefined && f.users.size < MAX_USERS) f.users.add(user);
    if (this.#byHost.size > this.#maxHosts) {
      const oldest = this.#byHost.keys().next();
      if (!oldest.done) this.#byHost.delete(oldest.value);
    }
  }

  /** A successful login at log time `t`: the alert when its address was failing, else undefined. */
  success(match: LogMatch, t: number): Alert | undefined {
    const host = match.fields.host;
    if (host === undefined) return undefined;
    const f = this.#byHost.get(host);
    if (f === undefined) return undefined;
    const recent = f.times.filter((x) => x <= t && t - x <= this.#within);
    if (recent.length < this.#failures) return undefined;
    // The failures are used up: the next login from there needs new ones to alert again.
    this.#byHost.delete(host);
    const user = sanitizeValue(match.fields.user ?? '');
    const safeHost = sanitizeValue(host);
    const tried = [...f.users].map((u) => sanitizeValue(u, 64));
    const when = new Date(t);
    return createAlert({
      source: 'log',
      rule: SUCCESS_AFTER_FAILURES,
      severity: 'critical',
      key: `log:${SUCCESS_AFTER_FAILURES}:${safeHost}:${user}:${when.toISOString()}:${match.pid ?? match.lineNumber}`,
      title: `Login as ${user || 'unknown user'} from ${safeHost} after ${recent.length} failed attempts in ${formatDuration(this.#within)}`,
      summary: [
        `${recent.length} failed attempt${recent.length === 1 ? '' : 's'} from ${safeHost} within ${formatDuration(this.#within)} before this successful login (${match.rule.id}, ${match.file}:${match.lineNumber}).`,
        ...(tried.length > 0 ? [`Users tried: ${tried.join(', ')}${f.users.size >= MAX_USERS ? ', …' : ''}.`] : []),
      ].join('\n'),
      hostname: this.#hostname,
      time: when,
      labels: { host: safeHost, user, ...(match.program !== undefined ? { program: sanitizeValue(match.program) } : {}) },
      evidence: [...f.evidence.map(sanitizeLine), sanitizeLine(match.line)],
    });
  }
}
