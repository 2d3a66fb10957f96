// "Is it actually watching?" Silent degradation is how watchers fail in the field: a log
// that vanished, a journal child that died, a sample source that throws every time. Each
// component keeps named checks and sums them up as one state.

/** A component's overall state: `degraded` when any check fails, `stopped` when not running. */
export type HealthState = 'ok' | 'degraded' | 'stopped';

/** One named check, such as `file:/var/log/auth.log` or `sample-age`. */
export interface HealthCheck {
  /** A stable name, unique within the component. */
  readonly name: string;
  /** Whether this check passes. */
  readonly ok: boolean;
  /** Why it fails (or a detail when it passes), one safe line. */
  readonly message?: string;
}

/** The payload of `health()` and of the `'health'` event. */
export interface Health {
  /** The sum of the checks: `stopped` if the component is not running, else `degraded` if any check fails. */
  readonly state: HealthState;
  /** Every check, in the order they were first set. */
  readonly checks: HealthCheck[];
}

/**
 * The state a set of checks adds up to.
 *
 * @example
 * summarizeHealth(true, [{ name: 'source', ok: false }]); // 'degraded'
 */
export function summarizeHealth(running: boolean, checks: readonly HealthCheck[]): HealthState {
  if (!running) return 'stopped';
  return checks.every((c) => c.ok) ? 'ok' : 'degraded';
}
