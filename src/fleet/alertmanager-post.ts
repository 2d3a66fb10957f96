import type { Clock } from '../core/clock.js';
import { DeliveryError } from '../core/errors.js';
import { httpPost } from '../notifier/http-post.js';
import { safeText } from '../core/text.js';
import type { PostableAlert } from './postable-alert.js';

/** One Alertmanager, resolved from a configured URL. @internal */
export interface AlertmanagerTarget {
  /** `…/api/v2/alerts`, without credentials. */
  readonly endpoint: string;
  /** The endpoint as errors and logs may show it: no credentials, no query. */
  readonly display: string;
  /** Headers for this target (Basic authentication from the URL, the user's headers). */
  readonly headers: Readonly<Record<string, string>>;
}

/** How {@link postToAll} posts. @internal */
export interface PostOptions {
  readonly channel: string;
  readonly signal: AbortSignal | undefined;
  readonly timeout: number;
  readonly fetch: typeof globalThis.fetch;
  /** The channel's clock, for an HTTP-date `Retry-After`. */
  readonly clock: Clock;
}

interface Outcome {
  readonly ok: boolean;
  readonly retryable: boolean;
  readonly status?: number;
  readonly retryAfterMs?: number;
  readonly reason: string;
  readonly cause?: unknown;
}

/**
 * Posts one batch to every Alertmanager at once and resolves when at least one
 * accepted it. Alertmanager peers do not share alerts, so the others are not skipped
 * once one succeeds; a member that missed the batch catches up on the next re-send.
 *
 * @throws {@link DeliveryError} when none accepted: retryable unless every peer gave a
 * permanent answer (a 4xx other than 408 and 429).
 * @internal
 */
export async function postToAll(targets: readonly AlertmanagerTarget[], alerts: readonly PostableAlert[], options: PostOptions): Promise<void> {
  const body = JSON.stringify(alerts);
  const outcomes = await Promise.all(targets.map((target) => postOne(target, body, options)));
  if (outcomes.some((o) => o.ok)) return;

  const reasons = outcomes.map((o, i) => `${targets[i]?.display ?? '?'}: ${o.reason}`).join('; ');
  const statuses = outcomes.map((o) => o.status).filter((s): s is number => s !== undefined);
  const waits = outcomes.map((o) => o.retryAfterMs).filter((w): w is number => w !== undefined);
  const init: ConstructorParameters<typeof DeliveryError>[1] & { retryAfterMs?: number; status?: number } = {
    channel: options.channel,
    retryable: outcomes.some((o) => o.retryable),
    cause:
      outcomes.length === 1
        ? outcomes[0]?.cause
        : new AggregateError(
            outcomes.map((o) => o.cause ?? new Error(o.reason)),
            reasons,
          ),
  };
  if (statuses.length > 0) init.status = statuses[0] as number;
  if (waits.length > 0) init.retryAfterMs = Math.min(...waits);
  const noun = targets.length === 1 ? 'Alertmanager' : `All ${targets.length} Alertmanagers`;
  throw new DeliveryError(`${noun} refused ${alerts.length} alert(s): ${reasons}`, init);
}

async function postOne(target: AlertmanagerTarget, body: string, options: PostOptions): Promise<Outcome> {
  const outcome = await httpPost({
    url: target.endpoint,
    headers: { ...target.headers, 'content-type': 'application/json', accept: 'application/json' },
    body,
    timeout: options.timeout,
    signal: options.signal,
    fetch: options.fetch,
    clock: options.clock,
  });
  // An error body is Alertmanager's own short message (e.g. "start time must be before end time").
  const reason = outcome.ok
    ? 'accepted'
    : outcome.status !== undefined && outcome.cause === undefined && outcome.text
      ? `${outcome.reason} ${safeText(outcome.text, { singleLine: true, max: 200 })}`
      : outcome.reason;
  return {
    ok: outcome.ok,
    retryable: outcome.retryable,
    reason,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
    ...(outcome.cause === undefined ? {} : { cause: outcome.cause }),
  };
}
