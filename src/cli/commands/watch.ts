import { lstat } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { escapeTerminal } from '../../core/text.js';
import type { Severity } from '../../core/severity.js';
import { parseDuration } from '../../core/format.js';
import { EXIT, type CliContext } from '../context.js';
import { cliDetectors, parseExtensions } from '../detectors.js';

/** Options of `hostwarden watch`. */
export interface WatchCliOptions {
  readonly state?: string;
  readonly quarantine?: string;
  readonly quarantineSeverity: Severity;
  readonly exclude?: string[];
  readonly hashDb?: string[];
  readonly extensions?: string;
  readonly scripts: boolean;
  readonly reconcileInterval?: number;
  readonly settle?: number;
  readonly events: boolean;
  readonly json?: boolean;
}

function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 200ms, 30s, 5m');
  return ms;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Adds `hostwarden watch <path…>` to the program (one line in program.ts). */
export function registerWatchCommand(program: Command, ctx: CliContext, result: { code: number }): void {
  program
    .command('watch')
    .summary('scan files as they land, until SIGINT/SIGTERM (exit 0 nothing found, 1 found, 2 error)')
    .description(
      'Watches the given directories with kernel events (inotify) and scans every new or changed file once it stops changing, ' +
        'with the same detectors as `scan`. A crawl at start, every --reconcile-interval and whenever events may have been lost ' +
        'catches what events missed. Health changes (degraded: watch limit, lost events, crawl-only) are printed on stderr.',
    )
    .argument('<path...>', 'directories to watch')
    .option('--state <file>', 'keep the index here, so a restart scans only what changed while stopped')
    .option('--quarantine <dir>', 'isolate findings in this quarantine directory')
    .addOption(new Option('--quarantine-severity <level>', 'isolate findings at least this severe').choices(['info', 'warning', 'critical']).default('critical'))
    .option('--exclude <glob>', 'skip paths matching this glob (repeatable)', collect)
    .option('--hash-db <file>', 'ClamAV .hsb/.hdb hash database (repeatable)', collect)
    .option('--extensions <list>', 'comma-separated extensions the extension detector flags (default .exe,.dll)')
    .option('--no-scripts', 'do not report #! scripts')
    .option('--reconcile-interval <duration>', 'full crawl this often (default 5m)', durationArg)
    .option('--settle <duration>', 'scan a file once unchanged this long (default 200ms)', durationArg)
    .option('--no-events', 'crawl only (no inotify), every minute')
    .option('--json', 'print one JSON object per event on stdout')
    .action(async (paths: string[], opts: WatchCliOptions) => {
      result.code = await watch(paths, opts, ctx);
    });
}

/**
 * `hostwarden watch <path…>`: a FileWatcher until the signal aborts. Prints findings like
 * `scan` (`path: reason FOUND`), health changes and warnings on stderr.
 */
export async function watch(paths: string[], opts: WatchCliOptions, ctx: CliContext): Promise<number> {
  for (const path of paths) {
    try {
      if (!(await lstat(path)).isDirectory()) {
        ctx.stderr.write(`${escapeTerminal(path, { singleLine: true })}: not a directory ERROR\n`);
        return EXIT.error;
      }
    } catch (error) {
      ctx.stderr.write(`${escapeTerminal(path, { singleLine: true })}: cannot access (${(error as NodeJS.ErrnoException).code ?? 'EIO'}) ERROR\n`);
      return EXIT.error;
    }
  }
  // Loaded here, not with the program: other commands do not pay for the watcher.
  const [{ FileWatcher }, { Quarantine }] = await Promise.all([import('../../watcher/file-watcher.js'), import('../../quarantine/quarantine.js')]);
  const watcher = new FileWatcher({
    roots: paths,
    detectors: cliDetectors({ extensions: opts.extensions === undefined ? undefined : parseExtensions(opts.extensions), hashDb: opts.hashDb, scripts: opts.scripts }),
    ...(opts.exclude === undefined ? {} : { exclude: opts.exclude }),
    ...(opts.state === undefined ? {} : { stateFile: opts.state }),
    ...(opts.quarantine === undefined ? {} : { quarantine: { into: new Quarantine({ directory: opts.quarantine }), minSeverity: opts.quarantineSeverity } }),
    ...(opts.reconcileInterval === undefined ? {} : { reconcileInterval: opts.reconcileInterval }),
    ...(opts.settle === undefined ? {} : { settle: opts.settle }),
    events: opts.events,
    persistent: true,
  });
  const line = (s: string): string => escapeTerminal(s, { singleLine: true });
  const json = (event: string, payload: object): void => void ctx.stdout.write(`${JSON.stringify({ event, ...payload })}\n`);
  let found = 0;
  let errors = 0;
  watcher.on('finding', (f) => {
    found++;
    if (opts.json) json('finding', f);
    else ctx.stdout.write(`${line(f.displayPath)}: ${line(f.reason)} [${f.rule}, ${f.severity}] FOUND\n`);
  });
  watcher.on('quarantined', ({ record }) => {
    if (opts.json) json('quarantined', { id: record.id, originalPath: record.originalPath, sha256: record.sha256 });
    else ctx.stdout.write(`${line(record.originalPath)}: moved to quarantine as ${record.id}\n`);
  });
  watcher.on('warning', (w) => ctx.stderr.write(`${line(w.displayPath ?? '')}${w.displayPath ? ': ' : ''}${line(w.message)} WARNING\n`));
  watcher.on('health', (h) => {
    const failing = h.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.message ?? ''}`);
    ctx.stderr.write(`hostwarden watch: ${h.state}${failing.length > 0 ? ` (${line(failing.join('; '))})` : ''}\n`);
  });
  watcher.on('reconciled', (r) => {
    if (opts.json) json('reconciled', r);
  });
  watcher.on('error', (error) => {
    errors++;
    ctx.stderr.write(`hostwarden: ${line(error.message)}\n`);
  });
  try {
    await watcher.start();
  } catch (error) {
    ctx.stderr.write(`hostwarden: ${line((error as Error).message)}\n`);
    return EXIT.error;
  }
  if (!opts.json) ctx.stderr.write(`hostwarden watch: watching ${paths.map(line).join(', ')} (${watcher.status.mode})\n`);
  if (!ctx.signal.aborted) await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
  await watcher.stop();
  return found > 0 ? EXIT.found : errors > 0 ? EXIT.error : EXIT.ok;
}
