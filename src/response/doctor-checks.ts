/**
 * What `hostwarden doctor` asks about active response: is nft there and usable, and does
 * the ban table exist with the expected layout. Read-only: nothing is created or changed.
 */
import type { HealthCheck } from '../core/health.js';
import { runNft } from './nft-process.js';
import { NftablesBackend, type NftablesBackendOptions } from './nftables-backend.js';

/**
 * Checks `nft` (runs, version, permission to read the ruleset) and the backend's table
 * (present, elements per family). Each result is a {@link HealthCheck}; a failing one says
 * what to do.
 *
 * @example
 * for (const check of await nftablesChecks({ table: 'hostwarden' })) console.log(check.ok ? 'ok ' : 'BAD', check.name, check.message);
 */
export async function nftablesChecks(options: Pick<NftablesBackendOptions, 'table' | 'nftCommand'> = {}): Promise<HealthCheck[]> {
  const command = options.nftCommand ?? ['nft'];
  const checks: HealthCheck[] = [];
  try {
    const { stdout } = await runNft(command, ['--version'], undefined, 10_000);
    checks.push({ name: 'nft', ok: true, message: stdout.trim() });
  } catch (error) {
    checks.push({ name: 'nft', ok: false, message: `cannot run ${command.join(' ')}: ${(error as Error).message} (Debian: apt-get install nftables)` });
    return checks;
  }
  try {
    await runNft(command, ['list', 'tables'], undefined, 10_000);
    checks.push({ name: 'nft permission', ok: true, message: 'the ruleset can be read' });
  } catch (error) {
    checks.push({ name: 'nft permission', ok: false, message: `${(error as Error).message} (run as root or with CAP_NET_ADMIN)` });
    return checks;
  }
  const backend = new NftablesBackend({ ...(options.table === undefined ? {} : { table: options.table }), nftCommand: command });
  try {
    if (!(await backend.tableExists())) {
      checks.push({ name: 'ban table', ok: false, message: `table inet ${backend.layout.table} does not exist: it is created when the agent (BanManager) starts` });
      return checks;
    }
    const entries = await backend.list();
    const v6 = entries.filter((e) => e.address.includes(':')).length;
    const counters = await backend.counters();
    checks.push({
      name: 'ban table',
      ok: true,
      message: `table inet ${backend.layout.table}: ${entries.length - v6} IPv4 and ${v6} IPv6 bans; dropped ${counters.ipv4.packets} + ${counters.ipv6.packets} packets`,
    });
  } catch (error) {
    checks.push({ name: 'ban table', ok: false, message: (error as Error).message });
  }
  return checks;
}
