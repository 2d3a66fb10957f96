/**
 * The little the metrics need to know about the components they observe. These are
 * structural, deliberately loose shapes: the metrics read only a few fields of each
 * event, check them at run time, and ignore what they do not recognise, so a component
 * that gains fields (or a user's own emitter) never breaks a scrape.
 */

/**
 * Anything hostwarden's metrics can observe: an event emitter (eventemitter3 or Node's)
 * with the components' public events, and optionally a `stats` getter with cumulative
 * counters read at scrape time (LogWatcher, Notifier).
 */
export interface ObservableComponent {
  /** Subscribes to an event. */
  on(event: string, listener: EventListenerLike): unknown;
  /** Unsubscribes (eventemitter3 and Node both have it). */
  off?(event: string, listener: EventListenerLike): unknown;
  /** Unsubscribes (for emitters without `off`). */
  removeListener?(event: string, listener: EventListenerLike): unknown;
}

/**
 * A listener of any typed emitter. `any` on purpose: a listener typed for one payload
 * must fit every event map, and the metrics check each payload at run time.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventListenerLike = (...args: any[]) => void;

/**
 * A component with a name for the `component` label, for when the class name is not
 * enough (two LogWatchers, say `auth` and `nginx`).
 */
export interface NamedComponent {
  /** The component to observe. */
  readonly component: ObservableComponent;
  /** Its `component` label value. */
  readonly name: string;
}

/** Reads a finite number, or `undefined`. @internal */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Reads a non-empty string, or `undefined`. @internal */
export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Reads a plain object, or `undefined`. @internal */
export function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** A property path read tolerantly: `pick(sample, 'cpu', 'percent')`. @internal */
export function pick(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    const o = obj(current);
    if (!o) return undefined;
    current = o[key];
  }
  return current;
}

/**
 * The rule id of a LogWatcher `'match'`: its `rule` is the LogRule object (`rule.id`),
 * but a plain string id is accepted too. @internal
 */
export function matchRuleId(match: unknown): string | undefined {
  const rule = pick(match, 'rule');
  return str(rule) ?? str(pick(rule, 'id'));
}

/**
 * Values for a label from attacker-influenced input (a rule id of a user's rule set is
 * fine; anything else is bounded) so a hostile string cannot bloat a scrape. @internal
 */
export function labelValue(value: string | undefined, fallback = 'unknown'): string {
  if (value === undefined) return fallback;
  return value.length > 128 ? `${value.slice(0, 128)}…` : value;
}
