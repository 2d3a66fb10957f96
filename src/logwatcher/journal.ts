import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { schedule, type Clock } from '../core/clock.js';
import { IoError } from '../core/errors.js';

/**
 * Reads the systemd journal through `journalctl`, for hosts without `/var/log/auth.log`
 * (Debian 12 installs no rsyslog by default).
 *
 * @example
 * new LogWatcher({ files: [], journal: { matches: ['_SYSTEMD_UNIT=ssh.service'] }, stateFile });
 */
export interface JournalOptions {
  /**
   * journalctl matches, as journalctl takes them: `FIELD=value` terms; terms on the same
   * field are ORed, different fields ANDed, `'+'` ORs two groups.
   * @defaultValue `DEFAULT_JOURNAL_MATCHES`: entries whose sending process (`_COMM`,
   * set by journald, not by the sender) is sshd, sudo, su or login, or that come from the
   * ssh unit. Not the syslog facility or `SYSLOG_IDENTIFIER`: any local user can set those
   * (`logger -p auth.info -t sshd …`).
   */
  readonly matches?: readonly string[];
  /**
   * Which field names the program rules are matched by: `'_COMM'` (the executable's name,
   * recorded by journald) or `'SYSLOG_IDENTIFIER'` (what the sender claims, needed only for
   * programs that log through a differently named helper). With `'SYSLOG_IDENTIFIER'`, a
   * local user can log lines as `sshd`.
   * @defaultValue `'_COMM'`
   */
  readonly programFrom?: '_COMM' | 'SYSLOG_IDENTIFIER';
  /**
   * The journalctl executable.
   * @defaultValue `'journalctl'` (looked up on `PATH`)
   */
  readonly journalctl?: string;
  /** Read these journal files (`--file`) instead of the system journal. */
  readonly files?: readonly string[];
  /** Read the journal files in this directory (`--directory`) instead of the system journal. */
  readonly directory?: string;
  /**
   * What {@link LogMatch.file} says for journal lines.
   * @defaultValue `'journal'`
   */
  readonly label?: string;
  /**
   * How long to wait before starting journalctl again after it exited, doubled after each
   * failure up to 30 s.
   * @defaultValue `1000`
   */
  readonly restartDelay?: number;
}

/** @internal */
export interface ResolvedJournal {
  readonly matches: readonly string[];
  readonly programFrom: '_COMM' | 'SYSLOG_IDENTIFIER';
  readonly journalctl: string;
  readonly files: readonly string[];
  readonly directory: string | undefined;
  readonly label: string;
  readonly restartDelay: number;
}

/** @internal */
export interface JournalSink {
  /** One entry, as a syslog line (RFC 3339 time, host, `ident[pid]:`, message). */
  entry(lines: readonly string[], cursor: string): void;
  error(error: Error): void;
  /** What journalctl said on stderr while running (e.g. that permissions hide the system journal). */
  warn(message: string): void;
  /** Schedules a (cancellable) timer through the owning component. */
  timer(fn: () => void, ms: number): () => void;
  /** Whether journalctl may keep the process alive (the component's `persistent`). */
  readonly persistent: boolean;
  /** The owning component's clock: the time of an entry journald did not stamp. */
  readonly clock: Clock;
}

/** The longest JSON line accepted from journalctl, in characters. */
const MAX_JSON_LINE = 16 * 1024 * 1024;

/** The fields asked of journalctl: fewer fields, less JSON to parse. */
const FIELDS = '--output-fields=MESSAGE,SYSLOG_IDENTIFIER,_COMM,_PID,SYSLOG_PID,_HOSTNAME,__REALTIME_TIMESTAMP';

/**
 * Runs `journalctl -f -o json`, resumed after the last cursor handled, and restarts it
 * with a backoff when it dies.
 * @internal
 */
export class JournalSource {
  readonly #o: ResolvedJournal;
  readonly #sink: JournalSink;
  #cursor: string | undefined;
  #startAt: 'beginning' | 'end';
  #child: ChildProcessByStdio<null, Readable, Readable> | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopped = false;
  #delay: number;
  #cancelRestart: (() => void) | undefined;

  constructor(options: ResolvedJournal, cursor: string | undefined, startAt: 'beginning' | 'end', sink: JournalSink) {
    this.#o = options;
    this.#cursor = cursor;
    this.#startAt = startAt;
    this.#sink = sink;
    this.#delay = options.restartDelay;
  }

  /** The cursor of the last entry whose lines were handled. */
  get cursor(): string | undefined {
    return this.#cursor;
  }

  /** Whether journalctl is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The journalctl arguments for the current position. */
  args(): string[] {
    // --all: without it journalctl prints fields over 4096 bytes as null.
    const args = ['--output=json', '--all', '--no-pager', '--follow', FIELDS];
    if (this.#cursor !== undefined) args.push(`--after-cursor=${this.#cursor}`);
    else if (this.#startAt === 'end') args.push('--lines=0');
    else args.push('--no-tail');
    for (const file of this.#o.files) args.push(`--file=${file}`);
    if (this.#o.directory !== undefined) args.push(`--directory=${this.#o.directory}`);
    // `--` keeps a match from being read as an option.
    if (this.#o.matches.length > 0) args.push('--', ...this.#o.matches);
    return args;
  }

  /** Starts journalctl; resolves once it is spawned (or failed to, which is reported). */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => {
      let child: ChildProcessByStdio<null, Readable, Readable>;
      try {
        child = spawn(this.#o.journalctl, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (error) {
        this.#failed(new IoError(`Cannot start ${this.#o.journalctl}`, { path: this.#o.journalctl, syscall: 'spawn', cause: error }));
        resolve();
        return;
      }
      this.#child = child;
      let pending = '';
      let stderr = '';
      let spawnError: Error | undefined;
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        pending += chunk;
        let start = 0;
        for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n', start)) {
          this.#onJson(pending.slice(start, nl));
          start = nl + 1;
        }
        pending = pending.slice(start);
        if (pending.length > MAX_JSON_LINE) {
          // journald caps entries far below this; a line this long without an end is not
          // one we can parse, and holding it would grow without bound.
          this.#sink.error(new IoError(`journalctl printed more than ${MAX_JSON_LINE} characters without a newline; skipped`, { path: this.#o.journalctl }));
          pending = '';
        }
      });
      child.stderr.setEncoding('utf8');
      let stderrPending = '';
      let warned = 0;
      child.stderr.on('data', (chunk: string) => {
        // Bounded: only the end matters for the error message.
        stderr = (stderr + chunk).slice(-2000);
        stderrPending = (stderrPending + chunk).slice(-4000);
        const lines = stderrPending.split('\n');
        stderrPending = lines.pop() ?? '';
        for (const line of lines) {
          // A few lines are worth passing on ("insufficient permissions"); a flood is not.
          if (line.trim() !== '' && warned++ < 10) this.#sink.warn(`journalctl: ${line.trim().slice(0, 500)}`);
        }
      });
      child.once('spawn', () => {
        // Only once running: an unref'ed child before 'spawn' could let the process exit
        // while start() is still pending.
        if (!this.#sink.persistent) {
          // Like the component's timers, journalctl must not hold a finished process open;
          // and if the process exits without stop(), journalctl goes with it.
          child.unref();
          (child.stdout as Readable & { unref?: () => void }).unref?.();
          (child.stderr as Readable & { unref?: () => void }).unref?.();
          const killOnExit = (): void => void child.kill('SIGTERM');
          process.once('exit', killOnExit);
          child.once('close', () => process.off('exit', killOnExit));
        }
        resolve();
      });
      child.once('error', (error) => {
        spawnError = error;
        resolve();
      });
      this.#exited = new Promise<void>((done) => {
        child.once('close', (code, signal) => {
          this.#child = undefined;
          done();
          if (this.#stopped) return;
          if (spawnError) {
            this.#failed(new IoError(`Cannot start ${this.#o.journalctl}: ${spawnError.message}`, { path: this.#o.journalctl, syscall: 'spawn', cause: spawnError }));
            return;
          }
          const tail = stderr.trim().split('\n').slice(-3).join(' | ');
          if (this.#cursor !== undefined && /cursor/i.test(stderr)) {
            // The journal no longer knows the cursor (vacuumed, another machine): start
            // over from startAt rather than fail forever.
            this.#cursor = undefined;
          }
          this.#failed(new IoError(`journalctl exited (${signal ?? `code ${code}`})${tail ? `: ${tail}` : ''}`, { path: this.#o.journalctl, syscall: 'spawn' }));
        });
      });
    });
  }

  /** Stops journalctl and waits for it to exit. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelRestart?.();
    const child = this.#child;
    if (child) {
      // Waiting for the exit must hold the loop open, or the process could end mid-stop().
      child.ref();
      (child.stdout as Readable & { ref?: () => void }).ref?.();
      child.kill('SIGTERM');
      // journalctl ends on SIGTERM at once; a wrapper script might not, and stop() must end.
      const cancelForce = schedule(() => child.kill('SIGKILL'), 2000);
      await this.#exited;
      cancelForce();
    }
  }

  #failed(error: Error): void {
    this.#sink.error(error);
    if (this.#stopped) return;
    const delay = this.#delay;
    this.#delay = Math.min(this.#delay * 2, 30_000);
    this.#cancelRestart = this.#sink.timer(() => {
      this.#cancelRestart = undefined;
      if (!this.#stopped) void this.start();
    }, delay);
  }

  #onJson(text: string): void {
    if (text.length === 0) return;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      this.#sink.error(new IoError(`journalctl printed a line that is not JSON: ${JSON.stringify(text.slice(0, 120))}`, { cause: error }));
      return;
    }
    const cursor = entry['__CURSOR'];
    if (typeof cursor !== 'string') return;
    this.#delay = this.#o.restartDelay;
    this.#sink.entry(toSyslogLines(entry, this.#o.programFrom, this.#sink.clock()), cursor);
    this.#cursor = cursor;
  }
}

/**
 * The journal matches used when none are given: the programs authRules reads, by the
 * trusted `_COMM` field, or the ssh unit (fail2ban's sshd `journalmatch` does the same).
 */
export const DEFAULT_JOURNAL_MATCHES: readonly string[] = Object.freeze([
  '_COMM=sshd',
  '_COMM=sshd-session',
  '_COMM=sshd-auth',
  '_COMM=sudo',
  '_COMM=su',
  '_COMM=login',
  '+',
  '_SYSTEMD_UNIT=ssh.service',
  '+',
  '_SYSTEMD_UNIT=sshd.service',
]);

/**
 * Renders a journal entry as the syslog line rsyslog would have written
 * (`2024-03-01T00:00:00.710570+00:00 host sshd[123]: message`), so one parser and one
 * rule set serve both sources. The program and pid come from journald's own `_COMM` and
 * `_PID` (unless `programFrom` asks for the sender's `SYSLOG_IDENTIFIER`). One entry is one
 * line: newlines in MESSAGE are escaped as `\n`, never split into lines of their own, so a
 * message cannot forge a second log line. An entry without journald's realtime stamp is
 * stamped `now` (ms since the epoch).
 * @internal
 */
export function toSyslogLines(entry: Record<string, unknown>, programFrom: '_COMM' | 'SYSLOG_IDENTIFIER', now: number): string[] {
  const message = fieldText(entry['MESSAGE']) ?? '';
  const claimed = programFrom === 'SYSLOG_IDENTIFIER';
  const ident = (claimed ? fieldText(entry['SYSLOG_IDENTIFIER']) : undefined) ?? fieldText(entry['_COMM']) ?? 'journal';
  const pid = fieldText(entry['_PID']) ?? (claimed ? fieldText(entry['SYSLOG_PID']) : undefined);
  const host = fieldText(entry['_HOSTNAME']) ?? 'localhost';
  const micros = fieldText(entry['__REALTIME_TIMESTAMP']);
  const time = micros !== undefined && /^\d{1,17}$/.test(micros) ? rfc3339(BigInt(micros)) : rfc3339(BigInt(Math.trunc(now)) * 1000n);
  // Whitespace in host or ident would shift the fields the parser sees.
  const prefix = `${time} ${host.replace(/\s+/g, '_')} ${ident.replace(/[\s[\]:]+/g, '_')}${pid !== undefined && /^\d{1,10}$/.test(pid) ? `[${pid}]` : ''}: `;
  const oneLine = message
    .replace(/\r?\n$/, '')
    .replaceAll('\\', '\\\\')
    .replace(/\r?\n|\r/g, (m) => (m === '\r' ? '\\r' : '\\n'))
    .replaceAll('\0', '');
  return [prefix + oneLine];
}

// journalctl gives a field as a string, as an array of byte values when it is not valid
// UTF-8 (or binary), or as an array of those when the field repeats.
function fieldText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number')) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value) && value.length > 0) return fieldText(value[value.length - 1]);
  return undefined;
}

function rfc3339(micros: bigint): string {
  const ms = Number(micros / 1000n);
  const iso = new Date(ms).toISOString(); // 2024-03-01T00:00:00.710Z
  const frac = (micros % 1_000_000n).toString().padStart(6, '0');
  return `${iso.slice(0, 19)}.${frac}+00:00`;
}
