import { hostname as osHostname } from 'node:os';
import type { ComponentOptions } from '../core/lifecycle.js';
import { InvalidOptionError } from '../core/errors.js';
import { expectArray, expectBoolean, expectNumber, expectOneOf, expectString } from '../core/validate.js';
import { validateRules, type LogRule } from './rule.js';
import { authRules } from './auth-rules.js';
import { systemClock, type Clock } from '../core/clock.js';
import { checkSharedOptions, rejectUnknownKeys, SHARED_OPTION_KEYS } from '../core/options.js';
import type { SuccessAfterFailuresOptions } from './success-after-failures.js';
import { DEFAULT_JOURNAL_MATCHES, type JournalOptions, type ResolvedJournal } from './journal.js';

/** Options of {@link LogWatcher}. */
export interface LogWatcherOptions extends ComponentOptions {
  /**
   * The logs to follow: paths or globs (`/var/log/*.log`, `/srv/app/**\/auth.log`).
   * Relative entries resolve against `cwd`. A path that does not exist yet is waited for;
   * a glob is re-expanded every `rescanInterval`. Files a glob finds are never reached
   * through a symbolic link.
   * @defaultValue `[]` (then `journal` must be set)
   */
  readonly files?: string | readonly string[];
  /**
   * The rules lines are matched against.
   * @defaultValue {@link authRules}
   */
  readonly rules?: readonly LogRule[];
  /**
   * Where to start in a file that has no saved position: `'end'` reads only lines written
   * after `start()` (like `tail -f`), `'beginning'` reads the whole file first. Files that
   * appear after the start (rotation, a new glob match) are always read from their beginning.
   * @defaultValue `'end'`
   */
  readonly startAt?: 'beginning' | 'end';
  /**
   * A JSON file where positions (and the journal cursor) are saved, so a restart neither
   * loses nor repeats a line. Written atomically; the directory is created if needed.
   * @defaultValue none: positions are not kept across restarts
   */
  readonly stateFile?: string;
  /**
   * Also (or only) read the systemd journal through `journalctl`; `true` uses the defaults
   * of {@link JournalOptions}.
   * @defaultValue `false`
   */
  readonly journal?: boolean | JournalOptions;
  /**
   * How often (ms) each file is checked with `stat`, the source of truth; `fs.watch`
   * events on the directories make changes show up sooner.
   * @defaultValue `250`
   */
  readonly pollInterval?: number;
  /**
   * How often (ms) globs are expanded again to pick up new files.
   * @defaultValue `2000`
   */
  readonly rescanInterval?: number;
  /**
   * How long (ms) a rotated-away file is kept open after it stopped growing, so that lines
   * the daemon writes to it before reopening its log are still read.
   * @defaultValue `5000`
   */
  readonly rotateGrace?: number;
  /**
   * The longest line handled, in bytes; a longer line is cut to this, handled, and reported
   * with a `'warning'` (`line-truncated`). Also bounds the memory per file.
   * @defaultValue `65536`
   */
  readonly maxLineLength?: number;
  /**
   * How long (ms) after lines were handled the state file is written; writes are batched.
   * @defaultValue `1000`
   */
  readonly checkpointInterval?: number;
  /**
   * How often (ms) quiet threshold alerts are checked for resolution.
   * @defaultValue `10000`
   */
  readonly sweepInterval?: number;
  /**
   * Use `fs.watch` on the directories as a hint (lower latency than polling alone).
   * @defaultValue `true`
   */
  readonly watch?: boolean;
  /**
   * The host name alerts carry.
   * @defaultValue `os.hostname()`
   */
  readonly hostname?: string;
  /**
   * How often (ms) a watched path that does not exist (or a glob that matches nothing) is
   * reported again as a `file-missing` warning while it stays missing.
   * @defaultValue `300000` (5 minutes)
   */
  readonly missingWarningInterval?: number;
  /**
   * The `auth.success-after-failures` detection (see `RuleEngineOptions.successAfterFailures`); `false` turns it off.
   * @defaultValue `{ failures: 3, within: 600000 }`
   */
  readonly successAfterFailures?: SuccessAfterFailuresOptions | false;
  /**
   * How many lines an alert carries as evidence.
   * @defaultValue `10`
   */
  readonly maxEvidence?: number;
  /**
   * The directory relative `files` and `stateFile` resolve against.
   * @defaultValue `process.cwd()`
   */
  readonly cwd?: string;
}

/** @internal */
export interface ResolvedOptions {
  readonly files: readonly string[];
  readonly rules: readonly LogRule[];
  readonly startAt: 'beginning' | 'end';
  readonly stateFile: string | undefined;
  readonly journal: ResolvedJournal | undefined;
  readonly pollInterval: number;
  readonly rescanInterval: number;
  readonly rotateGrace: number;
  readonly maxLineLength: number;
  readonly checkpointInterval: number;
  readonly sweepInterval: number;
  readonly watch: boolean;
  readonly hostname: string;
  readonly clock: Clock;
  readonly missingWarningInterval: number;
  readonly successAfterFailures: SuccessAfterFailuresOptions | false | undefined;
  readonly maxEvidence: number | undefined;
  readonly cwd: string;
}

/** Validates the options and fills defaults, once. @internal */
/** Every option LogWatcher knows: anything else is a typo, reported with a "did you mean". */
const KNOWN_KEYS = [
  ...SHARED_OPTION_KEYS,
  'files',
  'rules',
  'startAt',
  'stateFile',
  'journal',
  'pollInterval',
  'rescanInterval',
  'rotateGrace',
  'maxLineLength',
  'checkpointInterval',
  'sweepInterval',
  'watch',
  'hostname',
  'missingWarningInterval',
  'successAfterFailures',
  'maxEvidence',
  'cwd',
] as const;

export function resolveOptions(options: LogWatcherOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('LogWatcher', options, KNOWN_KEYS);
  checkSharedOptions(options);
  const filesRaw = options.files ?? [];
  const files = (typeof filesRaw === 'string' ? [filesRaw] : expectArray('files', filesRaw)).map((f, i) => expectString(`files[${i}]`, f));
  const journal = resolveJournal(options.journal ?? false);
  if (files.length === 0 && journal === undefined) {
    throw new InvalidOptionError('files', options.files, 'at least one path or glob (or set `journal`)');
  }
  const num = (name: keyof LogWatcherOptions, fallback: number, min: number, max = 2 ** 31 - 1): number =>
    options[name] === undefined ? fallback : expectNumber(name, options[name], { min, max, integer: true });
  return Object.freeze({
    files: Object.freeze(files),
    rules: options.rules === undefined ? authRules : Object.freeze([...validateRules(options.rules)]),
    startAt: options.startAt === undefined ? 'end' : expectOneOf('startAt', options.startAt, ['beginning', 'end'] as const),
    stateFile: options.stateFile === undefined ? undefined : expectString('stateFile', options.stateFile),
    journal,
    pollInterval: num('pollInterval', 250, 5),
    rescanInterval: num('rescanInterval', 2000, 10),
    rotateGrace: num('rotateGrace', 5000, 0),
    maxLineLength: num('maxLineLength', 65536, 64, 64 * 1024 * 1024),
    checkpointInterval: num('checkpointInterval', 1000, 0),
    sweepInterval: num('sweepInterval', 10_000, 10),
    watch: options.watch === undefined ? true : expectBoolean('watch', options.watch),
    hostname: options.hostname === undefined ? osHostname() : expectString('hostname', options.hostname),
    clock: options.clock ?? systemClock,
    missingWarningInterval: num('missingWarningInterval', 300_000, 10),
    successAfterFailures: options.successAfterFailures,
    maxEvidence: options.maxEvidence === undefined ? undefined : expectNumber('maxEvidence', options.maxEvidence, { min: 1, max: 1000, integer: true }),
    cwd: options.cwd === undefined ? process.cwd() : expectString('cwd', options.cwd),
  });
}

function resolveJournal(value: boolean | JournalOptions): ResolvedJournal | undefined {
  if (value === false) return undefined;
  if (value === true) value = {};
  if (typeof value !== 'object' || value === null) throw new InvalidOptionError('journal', value, 'a boolean or JournalOptions');
  rejectUnknownKeys('LogWatcher journal', value, ['matches', 'programFrom', 'journalctl', 'files', 'directory', 'label', 'restartDelay']);
  const matches =
    value.matches === undefined
      ? DEFAULT_JOURNAL_MATCHES
      : expectArray('journal.matches', value.matches).map((m, i) => {
          const match = expectString(`journal.matches[${i}]`, m);
          if (match !== '+' && !/^[A-Z0-9_]+=/.test(match) && !match.startsWith('/')) {
            throw new InvalidOptionError(`journal.matches[${i}]`, m, "a journalctl match: 'FIELD=value', '+' or an absolute path");
          }
          return match;
        });
  return Object.freeze({
    matches: Object.freeze([...matches]),
    programFrom: value.programFrom === undefined ? '_COMM' : expectOneOf('journal.programFrom', value.programFrom, ['_COMM', 'SYSLOG_IDENTIFIER'] as const),
    journalctl: value.journalctl === undefined ? 'journalctl' : expectString('journal.journalctl', value.journalctl),
    files: Object.freeze((value.files === undefined ? [] : expectArray('journal.files', value.files)).map((f, i) => expectString(`journal.files[${i}]`, f))),
    directory: value.directory === undefined ? undefined : expectString('journal.directory', value.directory),
    label: value.label === undefined ? 'journal' : expectString('journal.label', value.label),
    restartDelay: value.restartDelay === undefined ? 1000 : expectNumber('journal.restartDelay', value.restartDelay, { min: 1, integer: true }),
  });
}
