// `hostwarden bans list | ban <addr> [--for 1h] | unban <addr>`: the firewall's bans,
// read from the kernel and the journal; changes go through a BanManager, which owns the
// journal (so they are refused, with advice, while the agent holds it).
import { InvalidArgumentError, type Command } from 'commander';
import { formatDuration, parseDuration } from '../../core/format.js';
import { EXIT, UsageError, type CliContext } from '../context.js';
import { escapeTerminal } from '../../core/text.js';
import { systemClock } from '../../core/clock.js';
import type { NftablesBackend } from '../../response/nftables-backend.js';
import type { LoadedState } from '../../response/state-file.js';

// The response modules load when a `bans` command runs, not on every CLI start.
const response = async () => {
  const [{ BanManager }, { NftablesBackend }, { BanStateFile, BanStateLockedError }] = await Promise.all([
    import('../../response/ban-manager.js'),
    import('../../response/nftables-backend.js'),
    import('../../response/state-file.js'),
  ]);
  return { BanManager, NftablesBackend, BanStateFile, BanStateLockedError };
};

/** Options shared by the `bans` subcommands. */
export interface BansCliOptions {
  readonly state: string;
  readonly table: string;
  readonly netns?: string;
  readonly json?: boolean;
  readonly for?: number;
  readonly reason?: string;
}

/** Where the agent keeps its ban journal unless configured otherwise. */
export const DEFAULT_BAN_STATE = '/var/lib/hostwarden/bans.jsonl';

function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000) throw new InvalidArgumentError('expected a duration of at least 1s such as 30m, 1h, 7d');
  return ms;
}

async function backendOf(opts: BansCliOptions): Promise<NftablesBackend> {
  const { NftablesBackend } = await response();
  return new NftablesBackend({ table: opts.table, ...(opts.netns === undefined ? {} : { nftCommand: ['ip', 'netns', 'exec', opts.netns, 'nft'] }) });
}

/** Registers `hostwarden bans …` on the program. */
export function registerBansCommand(program: Command, ctx: CliContext, result: { code: number }): void {
  const bans = program
    .command('bans')
    .summary('list, add or lift firewall bans (nftables)')
    .description(
      'Shows and changes the bans of the nftables table hostwarden owns. `list` works while the agent runs; `ban` and `unban` need the journal, which a running agent holds.',
    );
  const common = (cmd: Command): Command =>
    cmd
      .option('--state <file>', 'the ban journal', DEFAULT_BAN_STATE)
      .option('--table <name>', 'the nftables inet table', 'hostwarden')
      .option('--netns <name>', 'run nft inside this network namespace (ip netns exec)');
  common(bans.command('list').description('list the bans in force: address, rule, until, ban count'))
    .option('--json', 'print JSON')
    .action(async (opts: BansCliOptions) => {
      result.code = await bansList(opts, ctx);
    });
  common(bans.command('ban').description('ban an address or CIDR network now').argument('<address>', 'IPv4/IPv6 address or network'))
    .option('--for <duration>', 'how long (default: banTime with escalation)', durationArg)
    .option('--reason <text>', 'why, recorded with the ban')
    .action(async (address: string, opts: BansCliOptions) => {
      result.code = await bansChange('ban', address, opts, ctx);
    });
  common(bans.command('unban').description('lift the ban that holds an address').argument('<address>', 'IPv4/IPv6 address or network')).action(
    async (address: string, opts: BansCliOptions) => {
      result.code = await bansChange('unban', address, opts, ctx);
    },
  );
}

async function bansList(opts: BansCliOptions, ctx: CliContext): Promise<number> {
  const { BanStateFile } = await response();
  const kernel = await (await backendOf(opts)).list();
  let journal: LoadedState | undefined;
  try {
    journal = await BanStateFile.read(opts.state);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const now = systemClock();
  const inKernel = new Map(kernel.map((e) => [e.address, e.until]));
  const rows = [...(journal?.bans.values() ?? [])]
    .filter((b) => b.until > now)
    .map((b) => ({ address: b.address, rule: b.rule, reason: b.reason, since: new Date(b.since), until: new Date(b.until), count: b.count, enforced: inKernel.has(b.address) }));
  const known = new Set(rows.map((r) => r.address));
  const foreign = kernel.filter((e) => !known.has(e.address)).map((e) => ({ address: e.address, until: new Date(e.until) }));
  if (opts.json) {
    ctx.stdout.write(`${JSON.stringify({ bans: rows, notInJournal: foreign }, null, 2)}\n`);
    return EXIT.ok;
  }
  const out = (s: string): void => void ctx.stdout.write(`${s}\n`);
  if (rows.length === 0 && foreign.length === 0) out('No bans in force.');
  for (const r of rows.sort((a, b) => a.since.getTime() - b.since.getTime())) {
    const left = formatDuration(r.until.getTime() - now);
    out(
      `${r.address.padEnd(28)} ${escapeTerminal(r.rule, { singleLine: true }).padEnd(24)} ${left.padStart(8)} left  #${r.count}${r.enforced ? '' : '  NOT IN THE FIREWALL (start the agent to restore it)'}`,
    );
  }
  for (const f of foreign) out(`${f.address.padEnd(28)} ${'(not in the journal)'.padEnd(24)} ${formatDuration(f.until.getTime() - now).padStart(8)} left`);
  return EXIT.ok;
}

async function bansChange(action: 'ban' | 'unban', address: string, opts: BansCliOptions, ctx: CliContext): Promise<number> {
  const { BanManager, BanStateLockedError } = await response();
  const manager = new BanManager({ backend: await backendOf(opts), stateFile: opts.state });
  const warnings: string[] = [];
  manager.on('warning', (w) => warnings.push(w.message));
  manager.on('error', (e) => warnings.push(e.message));
  try {
    await manager.start();
  } catch (error) {
    if (error instanceof BanStateLockedError) throw new UsageError(`${error.message}; while the agent runs, add addresses to its ignore list or ban through its API`);
    throw error;
  }
  try {
    if (action === 'ban') {
      const ban = await manager.ban(address, { reason: opts.reason ?? 'banned by hand (hostwarden bans ban)', ...(opts.for === undefined ? {} : { duration: opts.for }) });
      if (!ban) {
        ctx.stderr.write(`hostwarden: not banned: ${escapeTerminal(warnings.join('; ') || 'spared', { singleLine: true })}\n`);
        return EXIT.error;
      }
      ctx.stdout.write(`Banned ${ban.address} until ${ban.until.toISOString()} (${formatDuration(ban.until.getTime() - ban.since.getTime())}, ban #${ban.count})\n`);
      return EXIT.ok;
    }
    const lifted = await manager.unban(address);
    if (!lifted) {
      ctx.stderr.write(`hostwarden: no ban holds ${escapeTerminal(address, { singleLine: true })}\n`);
      return EXIT.found;
    }
    ctx.stdout.write(`Unbanned ${lifted.address}\n`);
    return EXIT.ok;
  } finally {
    await manager.stop();
  }
}
