import type { Alert } from '../core/alert.js';
import { AbortedError, DeliveryError, InvalidOptionError } from '../core/errors.js';
import { toError } from '../core/lifecycle.js';
import { isSeverity } from '../core/severity.js';

/** Small pieces of the Notifier's delivery path. @internal */

/** Throws unless `alert` looks like an {@link Alert}. @internal */
export function checkAlert(alert: Alert): void {
  const ok =
    typeof alert === 'object' &&
    alert !== null &&
    (['id', 'key', 'source', 'rule', 'title', 'summary', 'hostname'] as const).every((f) => typeof alert[f] === 'string') &&
    typeof alert.labels === 'object' &&
    alert.labels !== null &&
    (alert.evidence === undefined || (Array.isArray(alert.evidence) && alert.evidence.every((e) => typeof e === 'string'))) &&
    (alert.status === 'firing' || alert.status === 'resolved') &&
    isSeverity(alert.severity) &&
    alert.time instanceof Date &&
    !Number.isNaN(alert.time.getTime());
  if (!ok) throw new InvalidOptionError('alert', alert, 'an Alert (see createAlert())');
}

/** Any thrown value as a DeliveryError (unknown errors count as retryable). @internal */
export function asDeliveryError(thrown: unknown, channel: string): DeliveryError {
  if (thrown instanceof DeliveryError) return thrown;
  if (thrown instanceof AbortedError) return new DeliveryError(`${channel}: ${thrown.message}`, { channel, retryable: true, cause: thrown });
  const error = toError(thrown);
  // A channel that throws something else (a user's own) may have hit anything; retry it.
  return new DeliveryError(`${channel}: ${error.message}`, { channel, retryable: true, cause: error });
}

// A channel that ignores its signal must not stall the Notifier past the send timeout.
/** @internal */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The abandoned promise may still reject; nobody awaits it any more.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
