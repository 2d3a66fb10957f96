import { DeliveryError } from '../core/errors.js';
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
    cause: outcomes.length === 1 ? outcomes[0]?.cause : new AggregateError(outcomes.map((o) => o.cause ?? new Error(o.reason)), reasons),
  };
  if (statuses.length > 0) init.status = statuses[0] as number;
  if (waits.length > 0) init.retryAfterMs = Math.min(...waits);
  const noun = targets.length === 1 ? 'Alertmanager' : `All ${targets.length} Alertmanagers`;
  throw new DeliveryError(`${noun} refused ${alerts.length} alert(s): ${reasons}`, init);
}

async function postOne(target: AlertmanagerTarget, body: string, options: PostOptions): Promise<Outcome> {
  const timeout = AbortSignal.timeout(options.timeout);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await options.fetch(target.endpoint, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json', accept: 'application/json' },
      body,
      signal,
      // A redirect would carry the Authorization header to wherever it points.
      redirect: 'error',
    });
  } catch (error) {
    const reason = timeout.aborted
      ? `no answer within ${options.timeout} ms`
      : options.signal?.aborted
        ? 'aborted'
        : `network error (${describeNetworkError(error)})`;
    return { ok: false, retryable: true, reason, cause: error };
  }
  // Read the body either way so the connection can be reused; an error body is
  // Alertmanager's own short message (e.g. "start time must be before end time").
  let text = '';
  try {
    text = await response.text();
  } catch {
    // The status is what matters; a body cut short changes nothing.
  }
  if (response.ok) return { ok: true, retryable: false, status: response.status, reason: 'accepted' };
  const status = response.status;
  const retryable = status === 408 || status === 429 || status >= 500;
  const outcome: Outcome = { ok: false, retryable, status, reason: `HTTP ${status}${text ? ` ${oneLine(text)}` : ''}` };
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return retryAfterMs === undefined ? outcome : { ...outcome, retryAfterMs };
}

function describeNetworkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ?? cause.message;
  }
  return String(cause);
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
