/**
 * The Alerts a ban raises: `ban.added` firing when it starts and resolved when it ends,
 * source `response`. The key carries the ban's start, so each ban is a new event for the
 * Notifier's dedup, also after a restart.
 */
import { createAlert, type Alert } from '../core/alert.js';
import { formatDuration } from '../core/format.js';
import type { BanMode } from './ban-options.js';
import type { StoredBan } from './state-file.js';

/** Why a ban ended. */
export type UnbanReason = 'expired' | 'manual' | 'widened';

/** Builds the firing (on a ban) or resolved (on its end, at `at`) alert of a ban. @internal */
export function banAlert(stored: StoredBan, mode: BanMode, status: 'firing' | 'resolved', at: number, reason?: UnbanReason): Alert {
  const observe = mode === 'observe';
  const length = formatDuration(stored.until - stored.since);
  const title =
    status === 'firing'
      ? `${observe ? 'Would ban' : 'Banned'} ${stored.address} for ${length} (${stored.rule}${stored.count > 1 ? `, ban #${stored.count}` : ''})`
      : `${observe ? 'Would unban' : 'Unbanned'} ${stored.address} (${reason ?? 'expired'})`;
  return createAlert({
    source: 'response',
    rule: 'ban.added',
    severity: 'warning',
    status,
    title,
    summary: `${title}: ${stored.reason}`,
    key: `response:ban.added:${stored.address}:${stored.since}`,
    time: new Date(status === 'firing' ? stored.since : at),
    labels: { host: stored.address, rule: stored.rule, count: String(stored.count), mode },
  });
}
