import { schedule, type Clock } from '../core/clock.js';
import { raceSignal } from './delivery.js';

/**
 * The one way the webhook and Alertmanager channels POST: a deadline that covers the
 * whole exchange (connect, headers and body), `Retry-After` read once and capped, and
 * an outcome classified the same way for both.
 * @internal
 */

/**
 * The longest wait a peer's `Retry-After` can impose, in ms (1 h). A peer asking for days
 * (`Retry-After: 3000000`) must not freeze a channel, and a delay that large would
 * overflow Node's timers and spin instead.
 * @internal
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/** What {@link httpPost} needs. @internal */
export interface HttpPostRequest {
  readonly url: string | URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Deadline of the whole exchange, in ms. */
  readonly timeout: number;
  /** The caller's abort (the Notifier's per-attempt signal, a channel closing). */
  readonly signal: AbortSignal | undefined;
  readonly fetch: typeof globalThis.fetch;
  /** The caller's clock, for an HTTP-date `Retry-After`. */
  readonly clock: Clock;
}

/** How one POST went. @internal */
export interface HttpPostOutcome {
  /** A 2xx answer whose body was read completely. */
  readonly ok: boolean;
  /** Whether trying again can help: network errors, timeouts, 408, 429, 5xx. */
  readonly retryable: boolean;
  readonly status?: number;
  /** The peer's `Retry-After`, capped at {@link MAX_RETRY_AFTER_MS}. */
  readonly retryAfterMs?: number;
  /** The response body (empty when it could not be read). */
  readonly text: string;
  /** One line for people: `HTTP 503`, `no answer within 100 ms`, `network error (ECONNREFUSED)`. */
  readonly reason: string;
  /** The underlying error, if any (may carry request details: sanitize before exposing). */
  readonly cause?: unknown;
}

/**
 * POSTs `body` and classifies the answer. Never throws.
 *
 * The deadline is a plain timer closed over by this call, not `AbortSignal.timeout()`:
 * `AbortSignal.any()` holds its sources weakly, so a timeout signal with no other
 * reference can be garbage-collected and never fire, and a request to a peer that
 * accepts the connection and then hangs would wait forever.
 * @internal
 */
export async function httpPost(request: HttpPostRequest): Promise<HttpPostOutcome> {
  const controller = new AbortController();
  let timedOut = false;
  // Unref'ed: the open socket keeps the process alive while a request is in flight.
  const cancelTimer = schedule(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${request.timeout} ms`));
  }, request.timeout);
  const onAbort = (): void => controller.abort(request.signal?.reason);
  if (request.signal?.aborted) onAbort();
  else request.signal?.addEventListener('abort', onAbort, { once: true });
  const failed = (cause: unknown): HttpPostOutcome => ({
    ok: false,
    retryable: true,
    text: '',
    reason: timedOut ? `no answer within ${request.timeout} ms` : request.signal?.aborted ? 'aborted' : `network error (${describeNetworkError(cause)})`,
    cause,
  });
  try {
    let response: Response;
    try {
      // Raced against the abort as well: a user's `fetch` that ignores its signal must
      // not outlive the deadline.
      response = await raceSignal(
        request.fetch(request.url, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
          signal: controller.signal,
          // A redirect would carry credentials to wherever it points.
          redirect: 'error',
        }),
        controller.signal,
      );
    } catch (error) {
      return failed(error);
    }
    let text: string;
    try {
      text = await raceSignal(response.text(), controller.signal);
    } catch (error) {
      // A 2xx whose body is cut short is not a delivery we can vouch for: retry it.
      if (response.ok)
        return {
          ...failed(error),
          status: response.status,
          reason: `HTTP ${response.status} with a body cut short (${timedOut ? `no answer within ${request.timeout} ms` : describeNetworkError(error)})`,
        };
      text = '';
    }
    const status = response.status;
    if (response.ok) return { ok: true, retryable: false, status, text, reason: `HTTP ${status}` };
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), request.clock());
    const outcome: HttpPostOutcome = { ok: false, retryable: status === 408 || status === 429 || status >= 500, status, text, reason: `HTTP ${status}` };
    return retryAfterMs === undefined ? outcome : { ...outcome, retryAfterMs };
  } finally {
    cancelTimer();
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * `Retry-After` as delay-seconds or an HTTP date, in ms from `now`, capped at
 * {@link MAX_RETRY_AFTER_MS}; `undefined` when absent or unreadable.
 *
 * @example
 * parseRetryAfter('120', Date.now()); // 120000
 * parseRetryAfter('99999999', Date.now()); // 3600000
 * @internal
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d{1,15}(\.\d{1,6})?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const date = Date.parse(trimmed);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return capRetryAfter(ms);
}

/** A wait asked for by a peer, clamped to [0, {@link MAX_RETRY_AFTER_MS}]. @internal */
export function capRetryAfter(ms: number): number {
  if (!Number.isFinite(ms)) return ms > 0 ? MAX_RETRY_AFTER_MS : 0;
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}

/** A network error as `message (CODE)`. @internal */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.message;
}
