import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { HostwardenError } from '../core/errors.js';
import type { Severity } from '../core/severity.js';
import { ConfigError } from './config.js';
import { EXIT, UsageError, type CliContext } from './context.js';
import { parseDuration } from '../core/format.js';
import { escapeTerminal } from '../core/text.js';
import { isRuleSetName, RULE_SETS, type RuleSetName } from './rulesets.js';
import { registerBansCommand } from './commands/bans.js';
import { registerDoctor } from './commands/doctor-command.js';
import { registerWatchCommand } from './commands/watch.js';

// src/cli and dist/cli are both two levels below the package root.
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 500ms, 30s, 10m, 1h');
  return ms;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function ruleSets(value: string): RuleSetName[] {
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const bad = names.filter((n) => !isRuleSetName(n));
  if (names.length === 0 || bad.length > 0)
    throw new InvalidArgumentError(`unknown rule set ${bad.map((b) => JSON.stringify(b)).join(', ') || '""'}; known: ${Object.keys(RULE_SETS).join(', ')}`);
  return names as RuleSetName[];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Builds the `hostwarden` command tree. Each action resolves to an exit code stored in
 * `result.code`; nothing calls `process.exit`, so the program can run inside tests.
 */
export function createProgram(ctx: CliContext, result: { code: number }): Command {
  const program = new Command('hostwarden')
    .description('Linux host security monitoring: auth-log attacks, resource alerts, malicious files, quarantine.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => void ctx.stdout.write(s),
      writeErr: (s) => void ctx.stderr.write(s),
    })
    .exitOverride();

  program
    .command('check-log')
    .summary('test rules against a log file (like fail2ban-regex)')
    .description(
      'Reads a finished log file with the given rule set and reports lines read, matches per rule, the hosts and users seen, ' +
        'and the alerts that would fire. Nothing is followed, nothing is sent.',
    )
    .argument('<file>', 'log file to read ("-" for stdin)')
    .option('--rules <sets>', `built-in rule sets, comma-separated: ${Object.keys(RULE_SETS).join(', ')}`, ruleSets, ['auth'] as RuleSetName[])
    .option('--max-retry <n>', 'failures from one host that make an alert (fail2ban maxretry)', positiveInt)
    .option('--find-time <duration>', 'window for --max-retry (fail2ban findtime), e.g. 10m', durationArg)
    .option('--show-matches', 'print every matched line')
    .option('--show-missed', 'print every line no rule matched (fail2ban-regex --print-all-missed)')
    .option('--json', 'print one JSON report on stdout')
    .option('--bans', 'replay the alerts through a BanManager in observe mode: who would have been banned, when, for how long')
    .option('--lint', 'treat <file> as your own rule patterns (JSON [{id, pattern, flags}] or one regex per line) and check each runs in linear time')
    .action(async (file: string, opts: CheckLogCliOptions) => {
      const { checkLog } = await import('./commands/check-log.js');
      result.code = await checkLog(file, opts, ctx);
    });

  program
    .command('scan')
    .summary('scan files for malicious executables (exit 0 clean, 1 found, 2 error)')
    .description(
      'Walks the given paths (never following symlinks out of them, crossing into mounted file systems as clamscan does) with the ' +
        'extension, executable, signature and optional hash detectors. Exit status as clamscan: 0 nothing found, 1 a finding of warning ' +
        'or critical severity, 2 an error, or not everything was scanned (unreadable, too large, changed, other file system).',
    )
    .argument('<path...>', 'files or directories to scan')
    .option('--hash-db <file>', 'ClamAV .hsb/.hdb hash database (repeatable)', collect)
    .option('--quarantine <dir>', 'isolate findings at or above --quarantine-severity (default critical) in this quarantine directory')
    .addOption(new Option('--quarantine-severity <level>', 'isolate files with a finding at least this severe').choices(['info', 'warning', 'critical']).default('critical'))
    .option('--one-file-system', 'do not enter file systems mounted below the paths (clamscan --cross-fs=no); they then count as not scanned (exit 2)')
    .option('--exclude <glob>', 'skip paths matching this glob (repeatable)', collect)
    .option('--max-file-size <bytes>', 'skip files larger than this', positiveInt)
    .option('--extensions <list>', 'comma-separated extensions the extension detector flags (default .exe,.dll)')
    .addOption(
      new Option('--min-severity <level>', 'list findings at least this severe (info findings are listed, never counted as infections)')
        .choices(['info', 'warning', 'critical'])
        .default('info'),
    )
    .option('--no-scripts', 'do not report #! scripts (trees full of legitimate scripts)')
    .option('--no-progress', 'never draw the progress line (it is only drawn on a terminal anyway)')
    .option('--json', 'print one JSON report on stdout')
    .action(async (paths: string[], opts: ScanCliOptions) => {
      const { scan } = await import('./commands/scan.js');
      result.code = await scan(paths, opts, ctx);
    });

  registerWatchCommand(program, ctx, result);

  const quarantine = program
    .command('quarantine')
    .summary('list, restore or remove quarantined files')
    .description('Manages a quarantine directory made by `hostwarden scan --quarantine` or the agent. Restoring never overwrites an existing file.');
  const dirOption = (): Option => new Option('--dir <dir>', 'the quarantine directory').makeOptionMandatory();
  quarantine
    .command('list')
    .description('list quarantined files (id, original path, size, sha256, reason)')
    .addOption(dirOption())
    .option('--json', 'print JSON')
    .action(async (opts: QuarantineCliOptions) => {
      const { quarantineList } = await import('./commands/quarantine.js');
      result.code = await quarantineList(opts, ctx);
    });
  quarantine
    .command('restore')
    .description('move a quarantined file back to where it was, with its owner and mode')
    .argument('<id>', 'record id (from `list`)')
    .addOption(dirOption())
    .option('--to <path>', 'restore to this absolute path instead of the original one (same checks; never overwrites)')
    .action(async (id: string, opts: QuarantineCliOptions) => {
      const { quarantineRestore } = await import('./commands/quarantine.js');
      result.code = await quarantineRestore(id, opts, ctx);
    });
  quarantine
    .command('remove')
    .description('delete a quarantined file and its record for good')
    .argument('<id>', 'record id (from `list`)')
    .addOption(dirOption())
    .action(async (id: string, opts: QuarantineCliOptions) => {
      const { quarantineRemove } = await import('./commands/quarantine.js');
      result.code = await quarantineRemove(id, opts, ctx);
    });

  registerBansCommand(program, ctx, result);

  program
    .command('run')
    .summary('run the agent from a JSON config')
    .description('Runs log watching, resource monitoring, periodic scans and notification as configured, until SIGINT/SIGTERM. See docs/cli.md for the config format.')
    .requiredOption('-c, --config <file>', 'JSON config file')
    .option('--check', 'validate the config and exit (0 valid, 2 invalid)')
    .action(async (opts: RunCliOptions) => {
      const { run } = await import('./commands/run.js');
      result.code = await run(opts, ctx);
    });

  registerDoctor(program, ctx, result);

  program
    .command('demo')
    .summary('run the main job on built-in defaults for about half a minute')
    .description(
      'Watches the auth log (or a generated one with a simulated SSH brute force), monitors this machine with a deliberately low ' +
        'threshold, scans a demo tree of harmless planted samples and quarantines them in a temp dir, printing every alert. ' +
        'Sends to Slack too when SLACK_TOKEN and SLACK_CHANNEL are set. Needs no root and no config.',
    )
    .option('--duration <duration>', 'how long to run (env HOSTWARDEN_DEMO_DURATION)', durationArg)
    .option('--slack-api-url <url>', 'Slack API base URL (env SLACK_API_URL), for a Slack-compatible test server')
    .option('--auth-log <file>', 'the real auth log to follow when readable (default /var/log/auth.log; env HOSTWARDEN_DEMO_AUTH_LOG)')
    .action(async (opts: DemoCliOptions) => {
      const { runDemoCommand } = await import('../demo/command.js');
      result.code = await runDemoCommand(opts, ctx);
    });

  return program;
}

/** Options of `check-log`. */
export interface CheckLogCliOptions {
  readonly rules: RuleSetName[];
  readonly maxRetry?: number;
  readonly findTime?: number;
  readonly showMatches?: boolean;
  readonly showMissed?: boolean;
  readonly json?: boolean;
  readonly bans?: boolean;
  readonly lint?: boolean;
}

/** Options of `scan`. */
export interface ScanCliOptions {
  readonly hashDb?: string[];
  readonly quarantine?: string;
  readonly exclude?: string[];
  readonly maxFileSize?: number;
  readonly extensions?: string;
  readonly minSeverity: Severity;
  readonly quarantineSeverity: Severity;
  readonly oneFileSystem?: boolean;
  readonly scripts: boolean;
  readonly progress: boolean;
  readonly json?: boolean;
}

/** Options of the `quarantine` subcommands. */
export interface QuarantineCliOptions {
  readonly dir: string;
  readonly json?: boolean;
  readonly to?: string;
}

/** Options of `run`. */
export interface RunCliOptions {
  readonly config: string;
  readonly check?: boolean;
}

/** Options of `demo`. */
export interface DemoCliOptions {
  readonly duration?: number;
  readonly slackApiUrl?: string;
  readonly authLog?: string;
}

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code.
 * Usage errors exit 2; `--help` and `--version` exit 0.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const result = { code: EXIT.ok };
  const program = createProgram(ctx, result);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version "errors" are successes; any other parse problem is a usage error.
      return error.exitCode === 0 ? EXIT.ok : EXIT.error;
    }
    ctx.stderr.write(`hostwarden: ${describeError(error)}\n`);
    return EXIT.error;
  }
}

/** One readable line (or block, for config errors) for a failure, without a stack for expected errors. */
export function describeError(error: unknown): string {
  if (error instanceof ConfigError || error instanceof UsageError) return escapeTerminal(error.message);
  if (error instanceof HostwardenError) return escapeTerminal(`${error.message} (${error.code})`);
  if (error instanceof Error) return escapeTerminal(error.stack ?? error.message);
  return escapeTerminal(String(error));
}
