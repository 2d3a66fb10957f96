// The checks behind `hostwarden doctor`, each answering one question about this host the way
// the agent itself would meet it: can this file be opened for reading, can a file be created
// in this directory, does this program run, does this server answer. Nothing here follows a
// symlink into a writable probe, runs a shell, or prints a secret.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, open, opendir, realpath, stat, statfs, unlink } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { delimiter, dirname, join } from 'node:path';
import { safeText } from '../core/text.js';

/** How one doctor line turned out. `fail` makes `hostwarden doctor` exit 1. */
export type DoctorStatus = 'ok' | 'info' | 'warn' | 'fail';

/** One line of the doctor's report. */
export interface DoctorLine {
  readonly status: DoctorStatus;
  /** What part of the agent it concerns: `logs`, `scan`, `notifier`, `peer`… */
  readonly area: string;
  /** One line, already escaped for the terminal. */
  readonly message: string;
}

/** How every name and message is shown: one line, control and bidi characters as escapes (paths are attacker-influenced). */
export const ONE_LINE = { singleLine: true } as const;

function errno(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
}

const MiB = 1024 * 1024;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MiB) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024 / MiB).toFixed(1)} GiB`;
}

/** Whether a regular file can be opened for reading, as the log watcher or hash loader would. */
export async function probeReadableFile(area: string, path: string, hint = ''): Promise<DoctorLine> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { status: 'fail', area, message: `${safeText(path, ONE_LINE)}: not a regular file` };
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    await handle.close();
    // Files under /proc report size 0; a size is only news for real files.
    return { status: 'ok', area, message: `${safeText(path, ONE_LINE)}: readable${info.size > 0 ? ` (${size(info.size)})` : ''}` };
  } catch (error) {
    const code = errno(error);
    const why = code === 'ENOENT' ? 'missing' : code === 'EACCES' || code === 'EPERM' ? `not readable by this user (${code})${hint}` : `cannot be read (${code})`;
    return { status: 'fail', area, message: `${safeText(path, ONE_LINE)}: ${why}` };
  }
}

/** Whether a directory can be listed, as the scanner walks it. */
export async function probeReadableDirectory(area: string, path: string): Promise<DoctorLine> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return await probeReadableFile(area, path);
    const dir = await opendir(path);
    let entries = 0;
    for await (const _ of dir) if (++entries >= 1000) break;
    return {
      status: 'ok',
      area,
      message: `${safeText(path, ONE_LINE)}: directory, listable (${entries >= 1000 ? '1000+' : entries} ${entries === 1 ? 'entry' : 'entries'} at the top)`,
    };
  } catch (error) {
    const code = errno(error);
    return { status: 'fail', area, message: `${safeText(path, ONE_LINE)}: ${code === 'ENOENT' ? 'missing' : `cannot be listed (${code})`}` };
  }
}

/** The nearest existing ancestor of a path that does not exist yet. */
async function existingAncestor(path: string): Promise<string> {
  let dir = dirname(path);
  for (;;) {
    try {
      await stat(dir);
      return dir;
    } catch {
      const up = dirname(dir);
      if (up === dir) return dir;
      dir = up;
    }
  }
}

/** Free space below which a state directory is reported (an outbox must be able to grow). */
const LOW_SPACE = 64 * MiB;

/**
 * Whether files can be created in a directory, proven by creating (O_EXCL, no-follow) and
 * removing a small file — a read-only mount, a full disk or a wrong owner all show here. A
 * directory that does not exist yet is fine when its nearest existing ancestor is writable.
 */
export async function probeWritableDirectory(area: string, path: string, what: string): Promise<DoctorLine> {
  let info;
  try {
    info = await lstat(path);
  } catch (error) {
    if (errno(error) !== 'ENOENT') return { status: 'fail', area, message: `${what} ${safeText(path, ONE_LINE)}: cannot be examined (${errno(error)})` };
    const ancestor = await existingAncestor(path);
    try {
      await access(ancestor, constants.W_OK | constants.X_OK);
      return { status: 'ok', area, message: `${what} ${safeText(path, ONE_LINE)}: does not exist yet; will be created in ${safeText(ancestor, ONE_LINE)} (writable)` };
    } catch (inner) {
      return { status: 'fail', area, message: `${what} ${safeText(path, ONE_LINE)}: does not exist, and ${safeText(ancestor, ONE_LINE)} is not writable (${errno(inner)})` };
    }
  }
  if (info.isSymbolicLink()) {
    const target = await realpath(path).catch(() => undefined);
    if (target === undefined) return { status: 'fail', area, message: `${what} ${safeText(path, ONE_LINE)}: a symbolic link that leads nowhere` };
    // Root writing state through a link that someone else may re-point is how files get clobbered.
    const line = await probeWritableDirectory(area, target, what);
    return line.status === 'fail'
      ? line
      : { status: 'warn', area, message: `${what} ${safeText(path, ONE_LINE)}: a symbolic link to ${safeText(target, ONE_LINE)} (use the real path); ${line.message}` };
  }
  if (!info.isDirectory()) return { status: 'fail', area, message: `${what} ${safeText(path, ONE_LINE)}: not a directory` };
  const probe = join(path, `.hostwarden-doctor-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      await handle.write('x');
      await handle.sync();
    } finally {
      await handle.close();
      await unlink(probe);
    }
  } catch (error) {
    return { status: 'fail', area, message: `${what} ${safeText(path, ONE_LINE)}: not writable (${errno(error)})` };
  }
  try {
    const fs = await statfs(path);
    const free = fs.bavail * fs.bsize;
    if (free < LOW_SPACE) return { status: 'warn', area, message: `${what} ${safeText(path, ONE_LINE)}: writable, but only ${size(free)} free` };
    return { status: 'ok', area, message: `${what} ${safeText(path, ONE_LINE)}: writable (${size(free)} free)` };
  } catch {
    return { status: 'ok', area, message: `${what} ${safeText(path, ONE_LINE)}: writable` };
  }
}

/** Finds a program on PATH (or takes an absolute path), as spawn would. */
export async function findProgram(name: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = name.includes('/')
    ? [name]
    : path
        .split(delimiter)
        .filter((d) => d !== '')
        .map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What a program printed and how it ended (no shell; killed after `timeoutMs`). */
export function runProgram(file: string, args: readonly string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string; error?: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr, ...(error !== null && code === null ? { error: errno(error) } : {}) });
    });
  });
}

/** The first line of a program's `--version`, for the peer lines. */
async function versionOf(file: string, args: readonly string[]): Promise<string> {
  const result = await runProgram(file, args, 5_000);
  return safeText((result.stdout.split('\n')[0] ?? '').trim(), ONE_LINE) || 'version unknown';
}

/**
 * One line per peer program: where it is and its version, or how to install it. `needed`
 * says whether this configuration relies on it (then a missing peer fails).
 */
export async function probePeer(name: string, versionArgs: readonly string[], debian: string, needed: string | undefined): Promise<DoctorLine> {
  const file = await findProgram(name);
  if (file === undefined) {
    const consequence = needed === undefined ? 'not needed by this configuration' : `needed: ${needed}`;
    return { status: needed === undefined ? 'info' : 'fail', area: 'peer', message: `${name}: not installed (apt-get install ${debian}); ${consequence}` };
  }
  return { status: 'ok', area: 'peer', message: `${name}: ${safeText(file, ONE_LINE)} (${await versionOf(file, versionArgs)})` };
}

/**
 * Whether journalctl can read the journal as this user: it prints its permission hints on
 * stderr ("insufficient permissions", "No journal files were found") while exiting 0.
 */
export async function probeJournal(journalctl: string, journaldSocket = JOURNALD_SOCKET): Promise<DoctorLine> {
  const result = await runProgram(journalctl, ['--no-pager', '-n', '1', '-o', 'cat', 'SYSLOG_FACILITY=4', '+', 'SYSLOG_FACILITY=10']);
  const complaint = safeText(result.stderr.trim().split('\n')[0] ?? '', ONE_LINE);
  if (result.code !== 0) return { status: 'fail', area: 'logs', message: `journal: journalctl exited ${result.code ?? result.error ?? '?'}${complaint ? `: ${complaint}` : ''}` };
  if (/permission/i.test(complaint)) return { status: 'fail', area: 'logs', message: `journal: ${complaint} (add the user to systemd-journal or adm)` };
  if (complaint !== '') return { status: 'fail', area: 'logs', message: `journal: ${complaint}` };
  // journalctl reads files; if journald is not running (a container, a minimal VM) nothing new
  // ever arrives in them, and a watcher on the journal would sit there seeing nothing.
  const running = await stat(journaldSocket).then(
    (s) => s.isSocket(),
    () => false,
  );
  if (!running)
    return { status: 'fail', area: 'logs', message: `journal: systemd-journald is not running here (no ${safeText(journaldSocket, ONE_LINE)}): no new entries will arrive` };
  const seen = result.stdout.trim() === '' ? 'readable, no auth entries yet' : 'readable, auth entries present';
  return { status: 'ok', area: 'logs', message: `journal: ${seen} (auth and authpriv facilities)` };
}

/** The socket systemd-journald listens on while it runs. */
export const JOURNALD_SOCKET = '/run/systemd/journal/socket';

/** A URL without its credentials, query or fragment, for display. */
export function safeUrl(url: string): string {
  try {
    // user:password, the query and the fragment often carry a secret (webhook keys); never shown.
    const parsed = new URL(url);
    return safeText(`${parsed.origin}${parsed.pathname}${parsed.search === '' ? '' : '?…'}`, ONE_LINE);
  } catch {
    return safeText(url, ONE_LINE);
  }
}

/**
 * Whether an HTTP(S) server answers at `url`: any HTTP response (even 404 or 405) proves it is
 * reachable; a refused connection, DNS failure, TLS error or timeout does not. Sends a HEAD, so
 * a webhook receiver gets no alert.
 */
export function probeHttp(url: string, timeoutMs: number, method: 'HEAD' | 'GET' = 'HEAD'): Promise<{ status?: number; error?: string; body?: string }> {
  return new Promise((resolve) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      resolve({ error: 'not a valid URL' });
      return;
    }
    const request = parsed.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(parsed, { method, timeout: timeoutMs, headers: { 'user-agent': 'hostwarden-doctor' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      res.on('end', () => resolve({ ...(res.statusCode === undefined ? {} : { status: res.statusCode }), body }));
      res.on('error', (error) => resolve({ error: errno(error) }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', (error) => resolve({ error: errno(error) }));
    req.end();
  });
}
