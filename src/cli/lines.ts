// Line reading for finished input (check-log): bounded memory whatever the input holds,
// so a multi-gigabyte line of binary garbage cannot exhaust the heap.

/** One line of input, without its terminator. */
export interface InputLine {
  readonly line: string;
  /** The line was longer than the limit and was cut. */
  readonly truncated: boolean;
}

/** Splits a byte stream into lines of at most `maxLength` bytes (the rest of a longer line is dropped). */
export async function* readLines(stream: AsyncIterable<Buffer | string>, maxLength = 65_536): AsyncGenerator<InputLine> {
  let parts: Buffer[] = [];
  let held = 0;
  let truncated = false;
  const take = (): InputLine => {
    const buf = Buffer.concat(parts);
    parts = [];
    held = 0;
    let end = buf.length;
    if (end > 0 && buf[end - 1] === 0x0d) end--;
    const out = { line: buf.subarray(0, end).toString('utf8'), truncated };
    truncated = false;
    return out;
  };
  const hold = (chunk: Buffer): void => {
    const room = maxLength - held;
    if (chunk.length > room) {
      truncated = true;
      if (room > 0) parts.push(chunk.subarray(0, room));
      held = maxLength;
    } else {
      parts.push(chunk);
      held += chunk.length;
    }
  };
  for await (const raw of stream) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      hold(chunk.subarray(start, nl));
      yield take();
      start = nl + 1;
    }
    if (start < chunk.length) hold(chunk.subarray(start));
  }
  if (held > 0 || truncated) yield take();
}
