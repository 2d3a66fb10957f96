/**
 * The dry run fail2ban users ask for: feed the alerts a past log raised (in the log's own
 * time) through a {@link BanManager} in observe mode and list who would have been banned,
 * when and for how long — with escalation, IPv6 prefixes, subnets and the ignore list.
 */
import type { Alert } from '../core/alert.js';
import { BanManager } from './ban-manager.js';
import type { BanManagerOptions } from './ban-options.js';

/** Options of {@link replayBans}: the {@link BanManager} options that shape bans. */
export type ReplayOptions = Pick<BanManagerOptions, 'banTime' | 'maxBanTime' | 'escalation' | 'ignore' | 'ipv6Prefix' | 'subnet' | 'rules'>;

/** One ban the replay would have made. */
export interface ReplayedBan {
  /** The banned address or network. */
  readonly address: string;
  /** The rule that caused it. */
  readonly rule: string;
  /** When it would have started (in the log's time). */
  readonly since: Date;
  /** When it would have ended (in the log's time). */
  readonly until: Date;
  /** The how-manieth ban of this address. */
  readonly count: number;
}

/**
 * Replays alerts (in time order, as a log produced them) and resolves with the bans
 * that would have been made. Nothing touches a firewall or a file. The `ignore` list and
 * this host's own addresses are spared as they would be live; the SSH session's client
 * is not, as the log may come from another machine.
 *
 * @example
 * const bans = await replayBans(alerts, { banTime: '10m' });
 */
export async function replayBans(alerts: Iterable<Alert>, options: ReplayOptions = {}): Promise<ReplayedBan[]> {
  let now = 0;
  const manager = new BanManager({ ...options, mode: 'observe', ignoreSshSession: false, clock: () => now });
  const out: ReplayedBan[] = [];
  manager.on('ban', ({ ban }) => out.push({ address: ban.address, rule: ban.rule, since: ban.since, until: ban.until, count: ban.count }));
  manager.on('error', () => {});
  await manager.start();
  try {
    for (const alert of alerts) {
      now = alert.time.getTime();
      await manager.handleAlert(alert);
    }
  } finally {
    await manager.stop();
  }
  return out;
}

/** Prints the replayed bans as a table for `check-log --bans`. */
export function formatReplay(bans: readonly ReplayedBan[]): string {
  if (bans.length === 0) return 'Bans that would have been made: 0\n';
  const lines = [`Bans that would have been made: ${bans.length}`];
  for (const b of bans) {
    const minutes = Math.round((b.until.getTime() - b.since.getTime()) / 60_000);
    lines.push(`  ${b.since.toISOString()}  ${b.address.padEnd(28)} ${String(minutes).padStart(6)} min  #${b.count}  ${b.rule}`);
  }
  return `${lines.join('\n')}\n`;
}
