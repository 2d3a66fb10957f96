import { close, open, read } from 'node:fs';
import { IoError } from '../core/errors.js';

/**
 * A /proc, /sys or cgroup file kept open and re-read with `pread(fd, buf, 0)`. The kernel
 * regenerates such files on every read from offset 0, so one open handle serves every
 * sample: one thread-pool round trip instead of the four (open, fstat, read, close) of
 * `readFile`, which is most of what sampling costs. After an error the handle is dropped
 * and the next read opens the path again (a cgroup that was recreated, a file that came
 * back). @internal
 */
export class ProcFile {
  readonly path: string;
  #fd: Promise<number> | undefined;
  // The descriptor once open, so a read needs no await for it.
  #openFd: number | undefined;
  #buffer: Buffer;
  // Reads share the buffer, so they take turns.
  #turn: Promise<unknown> = Promise.resolve();

  constructor(path: string, sizeHint = 4096) {
    this.path = path;
    this.#buffer = Buffer.allocUnsafe(sizeHint);
  }

  /** The whole file, as text. */
  read(): Promise<string> {
    const next = this.#turn.then(() => this.#read());
    this.#turn = next.catch(() => {});
    return next;
  }

  async #read(): Promise<string> {
    try {
      let fd = this.#openFd;
      if (fd === undefined) {
        const opening = (this.#fd ??= new Promise((resolve, reject) => open(this.path, 'r', (error, opened) => (error ? reject(error) : resolve(opened)))));
        fd = await opening;
        // Not if close() ran meanwhile: that descriptor is gone.
        if (this.#fd === opening) this.#openFd = fd;
      }
      for (;;) {
        const buffer = this.#buffer;
        // The callback API: measurably cheaper per call than FileHandle's promises.
        const bytesRead = await new Promise<number>((resolve, reject) => read(fd, buffer, 0, buffer.length, 0, (error, n) => (error ? reject(error) : resolve(n))));
        // A full buffer may mean more text: grow it and read again from the start, so the
        // text comes from one generation of the file.
        if (bytesRead < this.#buffer.length) return this.#buffer.toString('utf8', 0, bytesRead);
        if (this.#buffer.length >= 16 * 1024 * 1024) throw new Error('file larger than 16 MiB');
        this.#buffer = Buffer.allocUnsafe(this.#buffer.length * 4);
      }
    } catch (cause) {
      await this.close();
      throw new IoError(`Cannot read ${this.path}`, { path: this.path, syscall: 'read', cause });
    }
  }

  /** Closes the descriptor (a later `read()` reopens it). */
  async close(): Promise<void> {
    const pending = this.#fd;
    this.#fd = undefined;
    this.#openFd = undefined;
    if (!pending) return;
    const fd = await pending.catch(() => undefined);
    if (fd !== undefined) await new Promise<void>((resolve) => close(fd, () => resolve()));
  }
}

/**
 * A set of {@link ProcFile}s by path, closed together. Reads of different files run side by
 * side: their thread-pool round trips overlap and their completions wake the loop together,
 * which costs less CPU per sample than issuing them one after another (see docs/resource.md,
 * "Benchmark"); the parsing they trigger is a character scan, so the iteration that runs it
 * stays short. @internal
 */
export class ProcFiles {
  readonly #files = new Map<string, ProcFile>();

  /** Reads a file through its cached handle. */
  read(path: string, sizeHint?: number): Promise<string> {
    let file = this.#files.get(path);
    if (!file) {
      file = new ProcFile(path, sizeHint);
      this.#files.set(path, file);
    }
    return file.read();
  }

  /** Closes every handle. */
  async close(): Promise<void> {
    const files = [...this.#files.values()];
    this.#files.clear();
    await Promise.all(files.map((f) => f.close()));
  }
}
