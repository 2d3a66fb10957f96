import { isAscii } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { AbortedError, InvalidOptionError, IoError } from '../core/errors.js';
import { expectNumber, expectSignal, expectString } from '../core/validate.js';
import { systemClock, type Clock } from '../core/clock.js';
import { clockOption, rejectUnknownKeys } from '../core/options.js';
import { authRules } from './auth-rules.js';
import { pieceEnd } from './lines.js';
import { LineMatcher } from './matcher.js';
import { validateRules, type LogMatch, type LogRule } from './rule.js';

/** Options of {@link matchLines}. */
export interface MatchLinesOptions {
  /**
   * The rules to match.
   *
   * @defaultValue {@link authRules}
   */
  readonly rules?: readonly LogRule[];
  /**
   * The `file` reported in each {@link LogMatch}.
   *
   * @defaultValue `'<lines>'`
   */
  readonly file?: string;
  /**
   * The year of RFC 3164 timestamps.
   *
   * @defaultValue inferred from `now`
   */
  readonly year?: number;
  /**
   * The clock (ms since the epoch): the time of lines without a timestamp and the base of
   * year inference.
   *
   * @defaultValue {@link systemClock}
   */
  readonly clock?: Clock;
  /**
   * Lines longer than this many characters are cut to it and flagged `truncated`.
   *
   * @defaultValue 65536
   */
  readonly maxLineLength?: number;
  /** Stops the iteration with an {@link AbortedError}. */
  readonly signal?: AbortSignal;
}

/** Options of {@link matchFile}. */
export type MatchFileOptions = Omit<MatchLinesOptions, 'file'>;

interface Resolved {
  readonly rules: readonly LogRule[];
  readonly year: number | undefined;
  readonly clock: Clock;
  readonly maxLineLength: number;
  readonly signal: AbortSignal | undefined;
}

function resolve(options: MatchLinesOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', options, 'an object');
  rejectUnknownKeys('matchLines', options, ['rules', 'file', 'year', 'clock', 'maxLineLength', 'signal']);
  return Object.freeze({
    rules: options.rules === undefined ? authRules : validateRules(options.rules),
    year: options.year === undefined ? undefined : expectNumber('year', options.year, { min: 1970, max: 9999, integer: true }),
    clock: options.clock === undefined ? systemClock : clockOption('clock', options.clock),
    maxLineLength: options.maxLineLength === undefined ? 65_536 : expectNumber('maxLineLength', options.maxLineLength, { min: 64, integer: true }),
    signal: options.signal === undefined ? undefined : expectSignal('signal', options.signal),
  });
}

function matcherFor(r: Resolved): LineMatcher {
  return new LineMatcher(r.rules, r.clock, r.year);
}

/**
 * Matches finished input against rules: the equivalent of `fail2ban-regex`, for testing
 * rules on sample lines. No thresholds, no following. Trailing CR/LF is stripped from
 * each line; `lineNumber` counts the input's lines from 1.
 *
 * @throws {@link InvalidOptionError} at once for bad options; {@link AbortedError} from the iteration when aborted.
 * @example
 * for await (const m of matchLines(['Mar  3 00:17:22 web1 sshd[9]: Invalid user admin from 203.0.113.5 port 4122'])) {
 *   console.log(m.rule.id, m.fields.host, m.fields.user); // sshd.invalid-user 203.0.113.5 admin
 * }
 */
export function matchLines(lines: Iterable<string> | AsyncIterable<string>, options: MatchLinesOptions = {}): AsyncIterable<LogMatch> {
  const r = resolve(options);
  const file = options.file === undefined ? '<lines>' : expectString('file', options.file);
  if (lines === null || typeof lines !== 'object' || (!(Symbol.iterator in lines) && !(Symbol.asyncIterator in lines))) {
    throw new InvalidOptionError('lines', lines, 'an iterable or async iterable of strings');
  }
  return (async function* () {
    const matcher = matcherFor(r);
    const out: LogMatch[] = [];
    let lineNumber = 0;
    for await (const raw of lines) {
      if (r.signal?.aborted === true) throw new AbortedError();
      lineNumber++;
      let line = typeof raw === 'string' ? raw : String(raw);
      let end = line.length;
      while (end > 0 && (line.charCodeAt(end - 1) === 10 || line.charCodeAt(end - 1) === 13)) end--;
      let truncated = false;
      if (end > r.maxLineLength) {
        end = r.maxLineLength;
        truncated = true;
      }
      if (end !== line.length) line = line.slice(0, end);
      if (matcher.match(line, file, lineNumber, truncated, out) > 0) {
        yield* out;
        out.length = 0;
      }
    }
  })();
}

/**
 * Matches every line of a file against rules, streaming: memory stays bounded by the
 * read buffer and `maxLineLength` whatever the file's size. Invalid UTF-8 becomes U+FFFD,
 * NUL bytes are kept, CRLF endings are stripped, and a line longer than `maxLineLength`
 * is cut to that length and flagged `truncated` (its rest is skipped, not taken for a new line).
 *
 * @throws {@link InvalidOptionError} at once for bad options; {@link IoError} from the iteration
 *   when the file cannot be read; {@link AbortedError} when aborted.
 * @example
 * let failures = 0;
 * for await (const m of matchFile('/var/log/auth.log')) if (m.rule.tags.includes('auth-failure')) failures++;
 */
export function matchFile(path: string, options: MatchFileOptions = {}): AsyncIterable<LogMatch> {
  expectString('path', path);
  const r = resolve(options);
  return { [Symbol.asyncIterator]: () => new FileMatches(path, r) };
}

/**
 * The iterator behind {@link matchFile}. Matches a whole read's lines at once and then
 * hands the matches out from a buffer with already-settled promises: an async generator
 * would cost several microtask hops per match, which dominates at a million lines a second.
 */
class FileMatches implements AsyncIterator<LogMatch> {
  readonly #batches: AsyncGenerator<LineBatch>;
  readonly #matcher: LineMatcher;
  readonly #path: string;
  /** Matches of the current line not handed out yet (a line may match several rules). */
  readonly #pending: LogMatch[] = [];
  #pendingIndex = 0;
  /** The batch being matched, and when it was read. */
  #batch: LineBatch | undefined;
  #readAt = 0;
  readonly #clock: Clock;
  #lineNumber = 0;
  #done = false;

  constructor(path: string, r: Resolved) {
    this.#path = path;
    this.#matcher = matcherFor(r);
    this.#clock = r.clock;
    this.#batches = readLineBatches(path, r.maxLineLength, r.signal);
  }

  next(): Promise<IteratorResult<LogMatch>> {
    // Lines are matched only until the next match, so matches do not pile up per read:
    // fewer of them outlive a young-generation collection, which then costs less.
    const match = this.#pendingIndex < this.#pending.length ? this.#pending[this.#pendingIndex++] : this.#matchFromBatch();
    return match !== undefined ? Promise.resolve({ value: match, done: false }) : this.#fill();
  }

  async return(): Promise<IteratorResult<LogMatch>> {
    this.#done = true;
    this.#batch = undefined;
    await this.#batches.return(undefined);
    return { value: undefined, done: true };
  }

  /** Matches lines of the current batch until one matches; undefined when the batch runs out. */
  #matchFromBatch(): LogMatch | undefined {
    const batch = this.#batch;
    if (batch === undefined) return undefined;
    const pending = this.#pending;
    pending.length = 0;
    this.#pendingIndex = 0;
    const matcher = this.#matcher;
    const file = this.#path;
    for (let line = batch.nextLine(); line !== undefined; line = batch.nextLine()) {
      const lineNumber = ++this.#lineNumber;
      if (matcher.match(line, file, lineNumber, batch.truncated, pending, this.#readAt) > 0) {
        this.#pendingIndex = 1;
        return pending[0];
      }
    }
    this.#batch = undefined;
    return undefined;
  }

  async #fill(): Promise<IteratorResult<LogMatch>> {
    while (!this.#done) {
      const batch = await this.#batches.next();
      if (batch.done === true) break;
      this.#batch = batch.value;
      this.#readAt = this.#clock();
      const match = this.#matchFromBatch();
      if (match !== undefined) return { value: match, done: false };
    }
    this.#done = true;
    return { value: undefined, done: true };
  }
}

/**
 * One read's worth of complete lines, decoded at once and cut into lines on demand: a
 * line string lives only while it is matched (an array of a read's ten thousand lines
 * would outlive young-generation collections). A trailing CR is stripped from each line.
 *
 * @internal
 */
export class LineBatch {
  readonly #text: string;
  readonly #maxLineLength: number;
  readonly #cut: boolean;
  #from = 0;
  #done = false;
  /** Whether the line {@link nextLine} returned last was cut to `maxLineLength`. */
  truncated = false;

  /** `cut`: the text is one line that was already cut (a line carried across reads). */
  constructor(text: string, maxLineLength: number, cut = false) {
    this.#text = text;
    this.#maxLineLength = maxLineLength;
    this.#cut = cut;
  }

  /** The next line, or undefined after the last. */
  nextLine(): string | undefined {
    if (this.#done) return undefined;
    const text = this.#text;
    const from = this.#from;
    const nl = text.indexOf('\n', from);
    const end = nl < 0 ? text.length : nl;
    if (nl < 0) this.#done = true;
    else this.#from = nl + 1;
    let line = text.charCodeAt(end - 1) === 13 && end > from ? text.slice(from, end - 1) : text.slice(from, end);
    this.truncated = this.#cut;
    if (line.length > this.#maxLineLength) {
      line = line.slice(0, this.#maxLineLength);
      this.truncated = true;
    }
    return line;
  }
}

const CHUNK = 1 << 20;

/**
 * Reads a file as batches of lines. Each 1 MiB read is decoded up to its last newline, in
 * pieces of about 64 KiB ending at newlines (a newline byte never occurs inside a UTF-8
 * sequence, so splitting there is safe); the unfinished tail is carried to the next read,
 * capped at `maxLineLength` bytes so one endless line cannot exhaust memory. The next
 * read is under way while a read's lines are matched.
 *
 * @internal
 */
export async function* readLineBatches(path: string, maxLineLength: number, signal?: AbortSignal): AsyncGenerator<LineBatch> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (cause) {
    throw new IoError(`Cannot open ${JSON.stringify(path)} for reading`, { path, syscall: 'open', cause });
  }
  // Two buffers: the next read is issued before the lines of the last one are handed out,
  // so reading overlaps matching. Its outcome is looked at only when its turn comes: the
  // lines read before a failing read are all delivered first.
  const buffers = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)] as const;
  const read = (buf: Buffer): Promise<number> => {
    const pending = fh.read(buf, 0, CHUNK, null).then(({ bytesRead }) => bytesRead);
    // Settled later (or never, when the consumer stops first): not an unhandled rejection.
    pending.catch(() => undefined);
    return pending;
  };
  let ahead: Promise<number> | undefined = read(buffers[0]);
  let turn = 0;
  let failure: unknown;
  try {
    let carry: Buffer[] = [];
    let carryLength = 0;
    let carryCut = false;
    for (;;) {
      if (signal?.aborted === true) throw new AbortedError();
      const buf = buffers[turn] as Buffer;
      let bytesRead: number;
      try {
        bytesRead = await ahead;
      } catch (cause) {
        ahead = undefined;
        throw new IoError(`Cannot read ${JSON.stringify(path)}`, { path, syscall: 'read', cause });
      }
      if (bytesRead === 0) {
        ahead = undefined;
        break;
      }
      turn ^= 1;
      ahead = read(buffers[turn] as Buffer);
      let start = 0;
      const first = buf.indexOf(10);
      if (first < 0 || first >= bytesRead) {
        // No newline in this read: all of it belongs to the carried line.
        carryCut = addCarry(carry, buf.subarray(0, bytesRead), maxLineLength - carryLength) || carryCut;
        carryLength = Math.min(maxLineLength, carryLength + bytesRead);
        continue;
      }
      if (carryLength > 0 || carryCut) {
        const cut = addCarry(carry, buf.subarray(0, first), maxLineLength - carryLength) || carryCut;
        yield new LineBatch(Buffer.concat(carry).toString('utf8'), maxLineLength, cut);
        carry = [];
        carryLength = 0;
        carryCut = false;
        start = first + 1;
      }
      const last = buf.lastIndexOf(10, bytesRead - 1);
      while (last >= start) {
        // Decoded in pieces of about 64 KiB (see pieceEnd): with one string per 1 MiB read,
        // a full mark-compact came every few dozen reads.
        const cut = pieceEnd(buf, start, last);
        // Pure ASCII (the usual log) decodes as latin1, a plain copy, to the same text.
        yield new LineBatch(buf.toString(isAscii(buf.subarray(start, cut)) ? 'latin1' : 'utf8', start, cut), maxLineLength);
        start = cut + 1;
      }
      if (start < bytesRead) {
        carryCut = addCarry(carry, buf.subarray(start, bytesRead), maxLineLength);
        carryLength = Math.min(maxLineLength, bytesRead - start);
      }
    }
    if (carryLength > 0 || carryCut) {
      // A last line without a newline is still a line of finished input.
      yield new LineBatch(Buffer.concat(carry).toString('utf8'), maxLineLength, carryCut);
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await closeReader(fh, path, ahead, failure !== undefined);
  }
}

/** Closes a file {@link readLineBatches} read, once its last read (if any) has settled. */
async function closeReader(fh: FileHandle, path: string, ahead: Promise<number> | undefined, failed: boolean): Promise<void> {
  // A read still under way writes into a buffer and uses the descriptor: let it end first.
  if (ahead !== undefined) await ahead.catch(() => undefined);
  try {
    await fh.close();
  } catch (cause) {
    // After a failed read the descriptor may be gone too: the read's error is the one to report.
    if (!failed) throw new IoError(`Cannot close ${JSON.stringify(path)}`, { path, syscall: 'close', cause });
  }
}

/** Copies `bytes` into the carry, keeping at most `room` of them; true when some were dropped. */
function addCarry(carry: Buffer[], bytes: Buffer, room: number): boolean {
  if (room <= 0) return bytes.length > 0;
  const keep = bytes.length > room ? bytes.subarray(0, room) : bytes;
  // Copy: the read buffer is reused.
  carry.push(Buffer.from(keep));
  return keep.length < bytes.length;
}
