import { isAscii } from 'node:buffer';

/** Bytes decoded into one string at most (unless one line is longer). */
const PIECE = 64 * 1024;

/**
 * Where the next piece of `buf` to decode ends: the last newline within {@link PIECE} bytes
 * of `start`, or the newline ending a longer line; `last` (a newline) when the rest is small.
 * Reads are decoded in such pieces because a string above 128 KiB is made in V8's
 * large-object space, and one per read made a busy drain's old generation (and RSS) grow.
 *
 * @internal
 */
export function pieceEnd(buf: Buffer, start: number, last: number): number {
  if (last - start <= PIECE) return last;
  const nl = buf.lastIndexOf(10, start + PIECE);
  return nl >= start ? nl : buf.indexOf(10, start + PIECE);
}

/**
 * Splits a byte stream into text lines with bounded memory.
 *
 * Works on bytes, not text, so that byte offsets stay exact for checkpoints and so a
 * multi-byte character is never split: a newline byte (0x0A) never occurs inside a
 * UTF-8 sequence, so each complete line decodes on its own. Invalid UTF-8 becomes
 * U+FFFD (Buffer's decoder never throws), a trailing CR is dropped (CRLF files), and
 * NUL bytes — the runs rsyslog leaves after a crash, or binary garbage — are removed so
 * that the text after them still parses.
 *
 * @internal
 */
export class LineSplitter {
  readonly #maxLineLength: number;
  #pending: Buffer | undefined;
  #pendingLength = 0;
  /** Bytes of the current (unfinished) line beyond `maxLineLength`, dropped. */
  #overflow = 0;

  constructor(maxLineLength: number) {
    this.#maxLineLength = maxLineLength;
  }

  /** Bytes of the unfinished last line seen so far (kept or dropped): not yet committed. */
  get pendingBytes(): number {
    return this.#pendingLength + this.#overflow;
  }

  /** Forgets the unfinished line (after a truncation or when switching files). */
  reset(): void {
    this.#pendingLength = 0;
    this.#overflow = 0;
  }

  /**
   * Feeds bytes; calls `emit` for each complete line, in order, with the number of bytes
   * cut from it (0 for a line within the limit). The chunk may be reused after return.
   */
  push(chunk: Buffer, length: number, emit: (line: string, cutBytes: number) => void): void {
    let start = 0;
    const hasNul = chunk.subarray(0, length).indexOf(0) !== -1;
    // Pure ASCII (the usual log) decodes as latin1, a plain copy, to the same text.
    const encoding = isAscii(chunk.subarray(0, length)) ? 'latin1' : 'utf8';
    if (this.#pendingLength > 0 || this.#overflow > 0) {
      const nl = chunk.indexOf(10);
      if (nl === -1 || nl >= length) {
        this.#append(chunk, 0, length);
        return;
      }
      this.#append(chunk, 0, nl);
      const pending = this.#pending as Buffer;
      // The limit applies to the line as a whole, so the held part is already cut.
      const cut = this.#overflow;
      // The held part came from earlier chunks too, which may not have been ASCII.
      const line = this.#decode(pending, 0, this.#pendingLength, cut > 0, hasNul || pending.subarray(0, this.#pendingLength).includes(0), 'utf8');
      this.#pendingLength = 0;
      this.#overflow = 0;
      emit(line, cut);
      start = nl + 1;
    }
    const max = this.#maxLineLength;
    const last = chunk.lastIndexOf(10, length - 1);
    if (encoding === 'latin1' && !hasNul && last > start) {
      while (last >= start) start = this.#emitAscii(chunk, start, pieceEnd(chunk, start, last), emit);
    }
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl === -1 || nl >= length) break;
      const size = nl - start;
      if (size > max) {
        emit(this.#decode(chunk, start, start + max, true, hasNul, encoding), size - max);
      } else {
        emit(this.#decode(chunk, start, nl, false, hasNul, encoding), 0);
      }
      start = nl + 1;
    }
    if (start < length) this.#append(chunk, start, length);
  }

  /**
   * Emits the complete lines of an ASCII chunk from `start` up to its newline at `last`,
   * decoded with one call and sliced: bytes are characters, so the byte offsets of the
   * newlines are the text's, and decoding each line on its own cost a native call per
   * line. (A slice keeps the decoded chunk alive only as long as the line is; the matcher
   * copies the lines it keeps.) Returns the offset after `last`.
   */
  #emitAscii(chunk: Buffer, start: number, last: number, emit: (line: string, cutBytes: number) => void): number {
    const text = chunk.toString('latin1', start, last);
    const max = this.#maxLineLength;
    let from = 0;
    const end = text.length;
    while (from <= end) {
      let nl = text.indexOf('\n', from);
      if (nl === -1) nl = end;
      const size = nl - from;
      if (size > max) emit(text.slice(from, from + max), size - max);
      else emit(text.slice(from, nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl), 0);
      from = nl + 1;
    }
    return last + 1;
  }

  #append(chunk: Buffer, from: number, to: number): void {
    const room = this.#maxLineLength - this.#pendingLength;
    const take = Math.min(room, to - from);
    if (take > 0) {
      if (this.#pending === undefined || this.#pending.length < this.#pendingLength + take) {
        // Grow geometrically but never past the limit: memory stays bounded per file.
        const size = Math.min(this.#maxLineLength, Math.max(4096, (this.#pendingLength + take) * 2));
        const grown = Buffer.allocUnsafe(size);
        this.#pending?.copy(grown, 0, 0, this.#pendingLength);
        this.#pending = grown;
      }
      chunk.copy(this.#pending, this.#pendingLength, from, from + take);
      this.#pendingLength += take;
    }
    this.#overflow += to - from - take;
  }

  #decode(buf: Buffer, from: number, to: number, cut: boolean, hasNul: boolean, encoding: 'latin1' | 'utf8'): string {
    let end = to;
    if (cut) {
      // Back off to a character boundary rather than leave half a character as U+FFFD.
      for (let p = end - 1; p >= from && p >= end - 3; p--) {
        const byte = buf[p] ?? 0;
        if ((byte & 0xc0) === 0x80) continue;
        const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
        if (p + size > end) end = p;
        break;
      }
    } else if (end > from && buf[end - 1] === 13) {
      end--;
    }
    const text = buf.toString(encoding, from, end);
    return hasNul && text.includes('\0') ? text.replaceAll('\0', '') : text;
  }
}
