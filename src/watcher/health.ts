// Interim copies of the shared core's health types (issue #13), replaced by
// src/core/health.ts when the core lands: same names, same shapes.

/** `ok`, `degraded` (running, with a reason in a failing check) or `stopped`. */
export type HealthState = 'ok' | 'degraded' | 'stopped';

/** One aspect of a component's health. */
export interface HealthCheck {
  /** Stable name: `watch`, `events`, `reconcile`, `state`. */
  readonly name: string;
  readonly ok: boolean;
  /** Why it is not ok (or what is true while ok). */
  readonly message?: string;
}

/** What `health()` returns and the `'health'` event carries. */
export interface Health {
  readonly state: HealthState;
  readonly checks: readonly HealthCheck[];
}
