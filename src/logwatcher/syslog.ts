import { systemClock, type Clock } from '../core/clock.js';
import { detach } from './detach.js';
import { startsAt } from './starts-at.js';

/**
 * The syslog prefix of one log line, split off so rules see only the message.
 * Every field but `message` is absent when the line does not carry it.
 */
export interface SyslogLine {
  /** The line's own timestamp. RFC 3164 and zone-less timestamps are read as local time. */
  time?: Date;
  /** The host that logged the line (not a remote peer mentioned in the message). */
  hostname?: string;
  /** The program (syslog tag / RFC 5424 APP-NAME), without a leading path, e.g. `sshd-session`. */
  program?: string;
  /** The process id from `program[pid]:` or RFC 5424 PROCID. */
  pid?: number;
  /** The message: the text after the prefix (the whole line when no prefix was recognised). */
  message: string;
  /** Which timestamp layout the prefix used. */
  format?: SyslogFormat;
}

/**
 * The timestamp layouts {@link parseSyslogLine} recognises:
 * - `rfc3164`: `Mar  3 00:17:22` (also journalctl `short` and `short-precise`, `Mar 03 00:17:22.123456`);
 * - `rfc3339`: `2024-03-01T00:00:00.710570+00:00` (rsyslog high precision, journalctl `short-iso`; also `2024-03-01 00:00:00`);
 * - `rfc5424`: `<38>1 2024-03-01T00:00:00Z host app 123 - - msg`;
 * - `short-full`: journalctl's `Sun 2024-03-03 00:17:22 UTC`;
 * - `unix`: journalctl's `short-unix`, `1709425042.123456`;
 * - `monotonic`: journalctl's `short-monotonic`, `[  123.456789]` (no wall-clock time);
 * - `none`: no timestamp (a bare `program[pid]: message` or a plain message).
 */
export type SyslogFormat = 'rfc3164' | 'rfc3339' | 'rfc5424' | 'short-full' | 'unix' | 'monotonic' | 'none';

/** Options of {@link parseSyslogLine}. */
export interface ParseSyslogOptions {
  /**
   * The year of RFC 3164 timestamps, which carry none.
   *
   * @defaultValue inferred from `clock`: the latest year that does not put the line more than 7 days after `now`
   */
  readonly year?: number;
  /**
   * The clock (ms since the epoch) for year inference: a December line read in January
   * belongs to last year.
   *
   * @defaultValue `systemClock` (src/core/clock.ts)
   */
  readonly clock?: Clock;
}

// Timestamp kinds, indexes into FORMATS (numbers keep the hot path free of string compares).
const Kind = { None: 0, Bsd: 1, Iso: 2, Full: 3, Unix: 4, Mono: 5 } as const;

const FORMATS: readonly SyslogFormat[] = ['none', 'rfc3164', 'rfc3339', 'short-full', 'unix', 'monotonic'];
const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const WEEK_MS = 7 * 24 * 3600_000;

/**
 * Offsets of the prefix parts of one line, filled by {@link scanPrefix} without
 * allocating, so the hot path slices only what a matching rule needs.
 *
 * @internal
 */
export class PrefixScan {
  kind: number = Kind.None;
  rfc5424 = false;
  timeStart = 0;
  timeEnd = 0;
  /** Whether the broken-down time below is the current line's; the fast path leaves it to {@link timeOf}. */
  timeParsed = false;
  // Broken-down time (month 0-11; offset in minutes, NaN = local).
  year = 0;
  month = 0;
  day = 0;
  hour = 0;
  minute = 0;
  second = 0;
  ms = 0;
  offset = Number.NaN;
  hostStart = -1;
  hostEnd = -1;
  progStart = -1;
  progEnd = -1;
  /** The pid's digits are line[pidStart, pidEnd), read by {@link pidOf} only when wanted; -1 for none. */
  pidStart = -1;
  pidEnd = -1;
  msgStart = 0;
  // Cache of bsdTime: the hour last converted.
  cacheKey = -1;
  cacheYear: number | undefined = undefined;
  cacheNow = 0;
  cacheHour = 0;
  /**
   * The RFC 3164 timestamp last converted, up to its seconds (`Mar  3 00:17:`), and that
   * minute's epoch ms: lines come many per minute, so most need only their seconds read.
   * Valid for the same `year` option and while the clock stays within the hour it was made at.
   */
  minuteText = '';
  minuteMs = 0;
  minuteYear: number | undefined = undefined;
  minuteNow = 0;
}

/**
 * Where the message proper starts, past vendor prefixes some systems put before it:
 * Solaris' `[ID 800047 auth.info] ` and a kernel-time stamp `kernel:[  970.699396]: `
 * (seen in journal exports). Returns `start` when there is none.
 *
 * @internal
 */
export function skipMessagePrefix(line: string, start: number): number {
  const c = line.charCodeAt(start);
  if (c === 91 /* [ */) {
    if (!line.startsWith('[ID ', start)) return start;
    let p = start + 4;
    const d = p;
    while (isDigit(line.charCodeAt(p))) p++;
    if (p === d || p - d > 12 || line.charCodeAt(p) !== 32) return start;
    const f = ++p;
    while (p - f < 40 && (isNameChar(line.charCodeAt(p)) || line.charCodeAt(p) === 46)) p++;
    if (p === f || line.charCodeAt(p) !== 93 || line.charCodeAt(p + 1) !== 32) return start;
    return p + 2;
  }
  if (c === 107 /* k */ && line.startsWith('kernel:', start)) {
    let p = start + 7;
    if (line.charCodeAt(p) === 32) p++;
    if (line.charCodeAt(p) !== 91) return start;
    p++;
    while (line.charCodeAt(p) === 32) p++;
    const d = p;
    while (isDigit(line.charCodeAt(p))) p++;
    if (p === d || line.charCodeAt(p) !== 46) return start;
    p++;
    while (isDigit(line.charCodeAt(p))) p++;
    if (line.charCodeAt(p) !== 93) return start;
    p++;
    if (line.charCodeAt(p) === 58) p++;
    return line.charCodeAt(p) === 32 ? p + 1 : start;
  }
  return start;
}

/**
 * Splits a syslog line into time, hostname, program, pid and message. It never throws:
 * a line with no recognisable prefix comes back as a bare `message`.
 *
 * @example
 * parseSyslogLine('Mar  3 00:17:22 web1 sshd[812]: Invalid user admin from 203.0.113.5 port 4122', { year: 2024 });
 * // { time: 2024-03-03T00:17:22 (local), hostname: 'web1', program: 'sshd', pid: 812,
 * //   message: 'Invalid user admin from 203.0.113.5 port 4122', format: 'rfc3164' }
 */
export function parseSyslogLine(line: string, options: ParseSyslogOptions = {}): SyslogLine {
  const scan = new PrefixScan();
  scanPrefix(line, scan);
  const out: SyslogLine = { message: line.slice(skipMessagePrefix(line, scan.msgStart)) };
  out.format = scan.rfc5424 ? 'rfc5424' : (FORMATS[scan.kind] ?? 'none');
  const ms = timeOf(scan, line, (options.clock ?? systemClock)(), options.year);
  if (!Number.isNaN(ms)) out.time = new Date(ms);
  if (scan.hostStart >= 0) out.hostname = line.slice(scan.hostStart, scan.hostEnd);
  if (scan.progStart >= 0) out.program = line.slice(scan.progStart, scan.progEnd);
  const pid = pidOf(scan, line);
  if (pid >= 0) out.pid = pid;
  return out;
}

/**
 * The pid of a scanned line (its digits read now), or -1 when it has none or it is not a number.
 *
 * @internal
 */
export function pidOf(s: PrefixScan, line: string): number {
  return s.pidEnd > s.pidStart ? digits(line, s.pidStart, s.pidEnd - s.pidStart) : -1;
}

/**
 * The epoch milliseconds of a scanned line's timestamp, or NaN when it has none.
 *
 * @internal
 */
export function timeOf(s: PrefixScan, line: string, nowMs: number, year?: number): number {
  if (!s.timeParsed && s.kind === Kind.Bsd) {
    const t = sameMinute(s, line, nowMs, year);
    if (!Number.isNaN(t)) return t;
  }
  if (!s.timeParsed) {
    // The fast path only located the timestamp: parse it now that a line needs its time.
    s.timeParsed = true;
    if (s.kind === Kind.Bsd) bsd(line, s.timeStart, s);
    else if (s.kind === Kind.Iso) iso(line, s.timeStart, s);
  }
  switch (s.kind) {
    case Kind.Bsd: {
      const t = bsdTime(s, nowMs, year);
      rememberMinute(s, line, t, nowMs, year);
      return t;
    }
    case Kind.Iso:
    case Kind.Full:
      if (Number.isNaN(s.offset)) return new Date(s.year, s.month, s.day, s.hour, s.minute, s.second, s.ms).getTime();
      return Date.UTC(s.year, s.month, s.day, s.hour, s.minute, s.second, s.ms) - s.offset * 60_000;
    case Kind.Unix:
      return Math.round(Number(line.slice(s.timeStart, s.timeEnd)) * 1000);
    default:
      return Number.NaN;
  }
}

/**
 * The time of a not yet parsed RFC 3164 timestamp in the minute {@link rememberMinute}
 * kept, read from its seconds (and fraction) alone; NaN when it is another minute.
 */
function sameMinute(s: PrefixScan, line: string, nowMs: number, year: number | undefined): number {
  const prefix = s.minuteText;
  if (prefix.length === 0 || year !== s.minuteYear || Math.abs(nowMs - s.minuteNow) > 3_600_000 || !startsAt(line, s.timeStart, prefix)) return Number.NaN;
  const p = s.timeStart + prefix.length;
  const sec = digits(line, p, 2);
  if (sec < 0) return Number.NaN;
  let ms = 0;
  if (p + 2 !== s.timeEnd) {
    // A fraction, as clock() reads it; anything else is left to the full parse.
    if (line.charCodeAt(p + 2) !== 46) return Number.NaN;
    let scale = 100;
    for (let q = p + 3; q < s.timeEnd; q++) {
      const c = line.charCodeAt(q);
      if (c < 48 || c > 57) return Number.NaN;
      ms += (c - 48) * scale;
      scale /= 10;
    }
    ms = Math.floor(ms);
  }
  return s.minuteMs + sec * 1000 + ms;
}

/** Keeps the minute of a just converted RFC 3164 timestamp for {@link sameMinute}. */
function rememberMinute(s: PrefixScan, line: string, t: number, nowMs: number, year: number | undefined): void {
  // The seconds follow the clock's second colon; a timestamp that did not parse has none.
  if (Number.isNaN(t) || s.timeEnd <= s.timeStart) return;
  let colon = s.timeEnd - 1;
  while (colon > s.timeStart && line.charCodeAt(colon) !== 58) colon--;
  if (colon <= s.timeStart) return;
  const prefix = line.slice(s.timeStart, colon + 1);
  if (prefix !== s.minuteText) s.minuteText = detach(prefix);
  s.minuteMs = t - s.second * 1000 - s.ms;
  s.minuteYear = year;
  // The hour's start (and its year) was worked out when the clock said cacheNow: the minute
  // is good for exactly as long as bsdTime would keep using that hour.
  s.minuteNow = s.cacheNow;
}

function bsdTime(s: PrefixScan, nowMs: number, year: number | undefined): number {
  // Lines come in time order, many per hour: the start of the hour is computed (with
  // its year inference and time-zone lookup) once per hour, not once per line.
  const key = (s.month * 32 + s.day) * 24 + s.hour;
  if (key !== s.cacheKey || year !== s.cacheYear || Math.abs(nowMs - s.cacheNow) > 3_600_000) {
    s.cacheKey = key;
    s.cacheYear = year;
    s.cacheNow = nowMs;
    s.cacheHour = hourStart(s, nowMs, year);
  }
  return s.cacheHour + s.minute * 60_000 + s.second * 1000 + s.ms;
}

function hourStart(s: PrefixScan, nowMs: number, year: number | undefined): number {
  if (year !== undefined) return new Date(year, s.month, s.day, s.hour).getTime();
  // The latest year that does not put the line more than a week into the future: a
  // December line read in January is last year's, a 1 January line read seconds
  // before midnight on 31 December (clock skew) is next year's.
  const nowYear = new Date(nowMs).getFullYear();
  for (let y = nowYear + 1; y >= nowYear - 1; y--) {
    const t = new Date(y, s.month, s.day, s.hour).getTime();
    if (t <= nowMs + WEEK_MS) return t;
  }
  return new Date(nowYear - 1, s.month, s.day, s.hour).getTime();
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function digits(line: string, at: number, n: number): number {
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = line.charCodeAt(at + i);
    if (c < 48 || c > 57) return -1;
    v = v * 10 + c - 48;
  }
  return v;
}

/** Reads `hh:mm:ss[.frac]` at `p`; returns the end offset or -1. */
function clock(line: string, p: number, s: PrefixScan): number {
  const h = digits(line, p, 2);
  const m = digits(line, p + 3, 2);
  const sec = digits(line, p + 6, 2);
  if (h < 0 || m < 0 || sec < 0 || line.charCodeAt(p + 2) !== 58 || line.charCodeAt(p + 5) !== 58) return -1;
  s.hour = h;
  s.minute = m;
  s.second = sec;
  s.ms = 0;
  p += 8;
  if (line.charCodeAt(p) === 46 /* . */ && isDigit(line.charCodeAt(p + 1))) {
    p++;
    let scale = 100;
    let ms = 0;
    while (isDigit(line.charCodeAt(p))) {
      ms += (line.charCodeAt(p) - 48) * scale;
      scale /= 10;
      p++;
    }
    s.ms = Math.floor(ms);
  }
  return p;
}

/** Reads `yyyy-mm-dd` at `p`; returns the end offset or -1. */
function date(line: string, p: number, s: PrefixScan): number {
  const y = digits(line, p, 4);
  const mo = digits(line, p + 5, 2);
  const d = digits(line, p + 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || line.charCodeAt(p + 4) !== 45 || line.charCodeAt(p + 7) !== 45) return -1;
  s.year = y;
  s.month = mo - 1;
  s.day = d;
  return p + 10;
}

/** RFC 3339 / ISO 8601 with optional zone (`Z`, `+hh:mm`, `+hhmm`); returns the end or -1. */
function iso(line: string, p: number, s: PrefixScan): number {
  let q = date(line, p, s);
  // `T`, or a space as in `2024-03-01 00:00:00` (syslog-ng and container runtimes).
  if (q < 0 || (line.charCodeAt(q) !== 84 /* T */ && line.charCodeAt(q) !== 32)) return -1;
  q = clock(line, q + 1, s);
  if (q < 0) return -1;
  s.offset = Number.NaN;
  const c = line.charCodeAt(q);
  if (c === 90 /* Z */) {
    s.offset = 0;
    q++;
  } else if (c === 43 || c === 45) {
    const hh = digits(line, q + 1, 2);
    const colon = line.charCodeAt(q + 3) === 58 ? 1 : 0;
    const mm = digits(line, q + 3 + colon, 2);
    if (hh < 0 || mm < 0) return -1;
    s.offset = (c === 45 ? -1 : 1) * (hh * 60 + mm);
    q += 5 + colon;
  }
  return q;
}

const MONTH_CODES = new Map<number, number>(
  Array.from({ length: 12 }, (_, i) => [(MONTHS.charCodeAt(i * 3) << 16) | (MONTHS.charCodeAt(i * 3 + 1) << 8) | MONTHS.charCodeAt(i * 3 + 2), i]),
);

function monthAt(line: string, p: number): number {
  return MONTH_CODES.get((line.charCodeAt(p) << 16) | (line.charCodeAt(p + 1) << 8) | line.charCodeAt(p + 2)) ?? -1;
}

/** `Mmm dd hh:mm:ss[.frac]`, day space- or zero-padded or bare; returns the end or -1. */
function bsd(line: string, p: number, s: PrefixScan): number {
  const month = monthAt(line, p);
  if (month < 0 || line.charCodeAt(p + 3) !== 32) return -1;
  let q = p + 4;
  if (line.charCodeAt(q) === 32) q++;
  let day = 0;
  let n = 0;
  while (n < 2 && isDigit(line.charCodeAt(q))) {
    day = day * 10 + line.charCodeAt(q) - 48;
    q++;
    n++;
  }
  if (n === 0 || day < 1 || day > 31 || line.charCodeAt(q) !== 32) return -1;
  q = clock(line, q + 1, s);
  if (q < 0) return -1;
  s.month = month;
  s.day = day;
  return q;
}

/** journalctl short-full: `Sun 2024-03-03 00:17:22[.frac] UTC`; returns the end or -1. */
function full(line: string, p: number, s: PrefixScan): number {
  if (line.charCodeAt(p + 3) !== 32) return -1;
  let q = date(line, p + 4, s);
  if (q < 0 || line.charCodeAt(q) !== 32) return -1;
  q = clock(line, q + 1, s);
  if (q < 0 || line.charCodeAt(q) !== 32) return -1;
  const zs = q + 1;
  let ze = zs;
  while (ze < line.length && line.charCodeAt(ze) !== 32) ze++;
  if (ze === zs || ze - zs > 6) return -1;
  s.offset = Number.NaN;
  const zone = line.slice(zs, ze);
  if (zone === 'UTC' || zone === 'GMT' || zone === 'Z') s.offset = 0;
  else if ((zone[0] === '+' || zone[0] === '-') && zone.length === 5) {
    const hh = digits(zone, 1, 2);
    const mm = digits(zone, 3, 2);
    if (hh >= 0 && mm >= 0) s.offset = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm);
  }
  return ze;
}

/** The timestamp at `p`; sets kind/timeStart/timeEnd and returns the end, or -1. */
function timestamp(line: string, p: number, s: PrefixScan): number {
  const c = line.charCodeAt(p);
  let end = -1;
  if (isDigit(c)) {
    end = iso(line, p, s);
    if (end >= 0) s.kind = Kind.Iso;
    else {
      // short-unix: seconds since the epoch with a fraction.
      let q = p;
      while (isDigit(line.charCodeAt(q))) q++;
      if (q - p >= 9 && q - p <= 11 && line.charCodeAt(q) === 46) {
        q++;
        const f = q;
        while (isDigit(line.charCodeAt(q))) q++;
        if (q > f) {
          s.kind = Kind.Unix;
          end = q;
        }
      }
    }
  } else if (c === 91 /* [ */) {
    let q = p + 1;
    while (line.charCodeAt(q) === 32) q++;
    const d = q;
    while (isDigit(line.charCodeAt(q))) q++;
    if (q > d && line.charCodeAt(q) === 46) {
      q++;
      while (isDigit(line.charCodeAt(q))) q++;
      if (line.charCodeAt(q) === 93) {
        s.kind = Kind.Mono;
        end = q + 1;
      }
    }
  } else {
    end = bsd(line, p, s);
    if (end >= 0) s.kind = Kind.Bsd;
    else {
      end = full(line, p, s);
      if (end >= 0) s.kind = Kind.Full;
    }
  }
  if (end >= 0) {
    s.timeStart = p;
    s.timeEnd = end;
  }
  return end;
}

const isNameChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 47 || c === 64;

/**
 * A syslog tag at `p`: `name:` or `name[pid]:`, followed by a space or the end.
 * Returns the message start, or -1 when there is no tag (then nothing is set).
 */
function tag(line: string, p: number, s: PrefixScan, requirePid: boolean): number {
  let q = p;
  let base = p;
  for (let c = line.charCodeAt(q); q - p < 64 && isNameChar(c); c = line.charCodeAt(++q)) if (c === 47) base = q + 1;
  if (q === p) return -1;
  const nameEnd = q;
  // Old PAM-era tags name the module too: `sshd(pam_unix)[19939]:` is sshd's line.
  if (line.charCodeAt(q) === 40 /* ( */) {
    const m = ++q;
    while (q - m < 64 && isNameChar(line.charCodeAt(q))) q++;
    if (q === m || line.charCodeAt(q) !== 41 /* ) */) return -1;
    q++;
  }
  let pidStart = -1;
  let pidEnd = -1;
  if (line.charCodeAt(q) === 91 /* [ */) {
    q++;
    const d = q;
    while (q - d < 12 && line.charCodeAt(q) !== 93 && q < line.length) q++;
    if (line.charCodeAt(q) !== 93) return -1;
    if (q > d) {
      pidStart = d;
      pidEnd = q;
    }
    q++;
  } else if (requirePid) return -1;
  if (line.charCodeAt(q) !== 58 /* : */) return -1;
  q++;
  if (q < line.length && line.charCodeAt(q) !== 32) return -1;
  // A path-qualified tag (`/usr/sbin/cron[12]:`) is known by its base name.
  if (base === nameEnd) return -1;
  s.progStart = base;
  s.progEnd = nameEnd;
  s.pidStart = pidStart;
  s.pidEnd = pidEnd;
  return q < line.length ? q + 1 : q;
}

function token(line: string, p: number): number {
  while (p < line.length && line.charCodeAt(p) !== 32) p++;
  return p;
}

function skipSpaces(line: string, p: number): number {
  while (line.charCodeAt(p) === 32) p++;
  return p;
}

// The layouts nearly every auth log uses, found by native regular expressions: on the
// machines measured, a sticky RegExp#test locates a whole prefix several times faster than
// the character loops below walk it. TIME is an RFC 3164 or RFC 3339 timestamp exactly as
// bsd() and iso() accept it; TAG is a tag as tag() accepts it (name, optional [pid],
// colon, then a space or the end).
const TIME =
  '(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(?:0?[1-9]|[12]\\d|3[01]) \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?' +
  '|\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])[T ]\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)?)';
const TAG = '[\\w\\-./@]{1,64}(?:\\[[^\\]]{0,12}\\])?:(?: |$)';
/** TAG without path-qualified names (`/usr/sbin/cron[1]:`), which then take the longer way. */
const PLAIN_TAG = TAG.replace('./@', '.@');
/** Timestamp, spaces. */
const FAST_TIME = new RegExp(`${TIME} +`, 'y');
const FAST_TAG = new RegExp(TAG, 'y');
/**
 * The usual line in one test: timestamp, hostname, plain tag. The hostname has no '[' and
 * does not end in ':', so it cannot be a tag itself (which the slow path would try first).
 */
const FAST_HOST_TAG = new RegExp(`${TIME} +[^ [](?:[^ []*[^ [:])? ${PLAIN_TAG}`, 'y');

/**
 * Finds the prefix parts of `line` without allocating (except for a time-zone name).
 * Lines in the common layouts take the fast path, which leaves the timestamp's fields
 * for {@link timeOf}; everything else, and anything the fast path is unsure of, takes
 * {@link scanPrefixSlow}. Both give the same offsets (a test compares them on a corpus).
 *
 * @internal
 */
export function scanPrefix(line: string, s: PrefixScan): void {
  const c = line.charCodeAt(0);
  if ((c < 65 || c > 90) && (c < 48 || c > 57)) return scanPrefixSlow(line, s);
  FAST_HOST_TAG.lastIndex = 0;
  if (FAST_HOST_TAG.test(line)) {
    // The clock starts by offset 8 (RFC 3164: `Mar 3 `, `Mar  03 `) or 11 (RFC 3339) and
    // holds no space: the first space from there ends the timestamp.
    const timeEnd = line.indexOf(' ', c <= 57 ? 11 : 8);
    const hostStart = skipSpaces(line, timeEnd);
    const hostEnd = line.indexOf(' ', hostStart);
    fastTime(s, c, timeEnd);
    s.hostStart = hostStart;
    s.hostEnd = hostEnd;
    fastTag(line, hostEnd + 1, FAST_HOST_TAG.lastIndex, s, false);
    return;
  }
  FAST_TIME.lastIndex = 0;
  if (!FAST_TIME.test(line)) return scanPrefixSlow(line, s);
  const t1 = FAST_TIME.lastIndex;
  let end = t1 - 1;
  while (line.charCodeAt(end - 1) === 32) end--;
  fastTime(s, c, end);
  s.hostStart = s.hostEnd = s.progStart = s.progEnd = s.pidStart = s.pidEnd = -1;
  FAST_TAG.lastIndex = t1;
  if (FAST_TAG.test(line)) {
    // `Mar  3 00:17:22 sshd[9]: …`: no hostname.
    if (!fastTag(line, t1, FAST_TAG.lastIndex, s, true)) scanPrefixSlow(line, s);
    return;
  }
  const t1End = line.indexOf(' ', t1);
  if (t1End < 0) {
    s.msgStart = t1;
    return;
  }
  s.hostStart = t1;
  s.hostEnd = t1End;
  const t2 = t1End + 1;
  FAST_TAG.lastIndex = t2;
  // Rare layouts (`sshd(pam_unix)[1]:`) and tag-less lines take the reference scanner.
  if (!FAST_TAG.test(line) || !fastTag(line, t2, FAST_TAG.lastIndex, s, true)) scanPrefixSlow(line, s);
}

/** Records a timestamp the fast path found at 0 (`first`: its first char code), left unparsed. */
function fastTime(s: PrefixScan, first: number, end: number): void {
  s.rfc5424 = false;
  s.kind = first <= 57 ? Kind.Iso : Kind.Bsd;
  s.timeStart = 0;
  s.timeEnd = end;
  s.timeParsed = false;
}

/**
 * Sets program, pid and message start from a tag match [p, end); false when tag() would
 * refuse it (a path-qualified name ending in '/', possible only when `slashes`).
 */
function fastTag(line: string, p: number, end: number, s: PrefixScan, slashes: boolean): boolean {
  const colon = line.charCodeAt(end - 1) === 58 ? end - 1 : end - 2;
  let nameEnd = colon;
  let pidStart = -1;
  let pidEnd = -1;
  if (line.charCodeAt(colon - 1) === 93 /* ] */) {
    // Name characters exclude '[', so the first one after p opens the pid.
    nameEnd = line.indexOf('[', p);
    if (colon - 1 > nameEnd + 1) {
      pidStart = nameEnd + 1;
      pidEnd = colon - 1;
    }
  }
  // A path-qualified tag (`/usr/sbin/cron[12]:`) is known by its base name. A loop, not
  // lastIndexOf, which V8 runs outside its fast string builtins.
  let base = p;
  if (slashes) {
    base = nameEnd;
    while (base > p && line.charCodeAt(base - 1) !== 47 /* / */) base--;
    if (base === nameEnd) return false;
  }
  s.progStart = base;
  s.progEnd = nameEnd;
  s.pidStart = pidStart;
  s.pidEnd = pidEnd;
  s.msgStart = end;
  return true;
}

/**
 * The reference prefix scanner: every layout, character by character.
 *
 * @internal
 */
export function scanPrefixSlow(line: string, s: PrefixScan): void {
  s.kind = Kind.None;
  s.rfc5424 = false;
  s.timeParsed = true;
  s.hostStart = s.hostEnd = s.progStart = s.progEnd = s.pidStart = s.pidEnd = -1;
  s.msgStart = 0;
  let p = 0;
  if (line.charCodeAt(0) === 60 /* < */) {
    let q = 1;
    while (q < 5 && isDigit(line.charCodeAt(q))) q++;
    if (q > 1 && line.charCodeAt(q) === 62 /* > */) {
      if (line.charCodeAt(q + 1) === 49 /* 1 */ && line.charCodeAt(q + 2) === 32) {
        if (rfc5424(line, q + 3, s)) return;
        s.kind = Kind.None;
        s.hostStart = s.hostEnd = s.progStart = s.progEnd = s.pidStart = s.pidEnd = -1;
      }
      p = q + 1;
    }
  }
  const end = timestamp(line, p, s);
  if (end < 0) {
    // No timestamp: accept only an unmistakable `name[pid]: ` tag, so a bare message
    // such as `error: maximum authentication attempts …` is not taken for one.
    let msg = tag(line, p, s, true);
    if (msg < 0) {
      // journalctl's `cat`-less export and fail2ban's journal samples: `host sshd[1]: …`,
      // a hostname and a tag with a pid but no timestamp.
      const hostEnd = token(line, p);
      if (hostEnd > p && hostEnd < line.length && hostEnd - p <= 255) {
        msg = tag(line, hostEnd + 1, s, true);
        if (msg >= 0) {
          s.hostStart = p;
          s.hostEnd = hostEnd;
        }
      }
    }
    s.msgStart = msg >= 0 ? msg : p;
    return;
  }
  if (end >= line.length || line.charCodeAt(end) !== 32) {
    s.msgStart = end;
    return;
  }
  const t1 = skipSpaces(line, end);
  let msg = tag(line, t1, s, false);
  if (msg >= 0) {
    s.msgStart = msg;
    return;
  }
  const t1End = token(line, t1);
  if (t1End === t1 || t1End >= line.length) {
    s.msgStart = t1;
    return;
  }
  s.hostStart = t1;
  s.hostEnd = t1End;
  const t2 = t1End + 1;
  msg = tag(line, t2, s, false);
  s.msgStart = msg >= 0 ? msg : t2;
}

/** RFC 5424 after `<pri>1 `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]. */
function rfc5424(line: string, p: number, s: PrefixScan): boolean {
  if (line.charCodeAt(p) === 45 /* - */ && line.charCodeAt(p + 1) === 32) p += 2;
  else {
    const end = iso(line, p, s);
    if (end < 0 || line.charCodeAt(end) !== 32) return false;
    s.kind = Kind.Iso;
    s.timeStart = p;
    s.timeEnd = end;
    p = end + 1;
  }
  const fields: number[] = [];
  for (let i = 0; i < 4; i++) {
    const e = token(line, p);
    if (e === p || e >= line.length) return false;
    fields.push(p, e);
    p = e + 1;
  }
  const [hs = 0, he = 0, as = 0, ae = 0, ps = 0, pe = 0] = fields;
  if (!(he - hs === 1 && line.charCodeAt(hs) === 45)) {
    s.hostStart = hs;
    s.hostEnd = he;
  }
  if (!(ae - as === 1 && line.charCodeAt(as) === 45)) {
    s.progStart = as;
    s.progEnd = ae;
  }
  if (pe > ps) {
    s.pidStart = ps;
    s.pidEnd = pe;
  }
  // Structured data: '-' or one or more [id param="value" …] elements, where `\]` escapes.
  if (line.charCodeAt(p) === 45) p++;
  else {
    while (line.charCodeAt(p) === 91) {
      p++;
      // A `]` inside a quoted PARAM-VALUE does not end the element (RFC 5424 §6.3.3).
      let quoted = false;
      while (p < line.length) {
        const c = line.charCodeAt(p);
        if (c === 92 /* \ */) p += 2;
        else if (c === 34 /* " */) {
          quoted = !quoted;
          p++;
        } else if (c === 93 && !quoted) break;
        else p++;
      }
      if (p >= line.length) return false;
      p++;
    }
  }
  if (p < line.length && line.charCodeAt(p) !== 32) return false;
  p = Math.min(p + 1, line.length);
  if (line.charCodeAt(p) === 0xfeff) p++;
  s.rfc5424 = true;
  s.msgStart = p;
  return true;
}
