import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { LogWatcher, type LogWatcherOptions } from '../../src/logwatcher/index.js';
import type { LogRule } from '../../src/logwatcher/rule.js';
import type { LogWatcherWarning, RotateEvent } from '../../src/logwatcher/tailer.js';

/** Matches every line, so tests can see exactly which lines were handled. */
export const everyLine: LogRule = {
  id: 'test.every-line',
  description: 'every line',
  severity: 'info',
  tags: [],
  pattern: /(?<text>[^]*)/,
};

const watchersOf = new WeakMap<TestContext, LogWatcher[]>();

/** A temp directory removed when the test ends (after the test's watchers stopped writing to it). */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hostwarden-logtail-'));
  t.after(async () => {
    await Promise.all((watchersOf.get(t) ?? []).map((w) => w.stop()));
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A watcher with short intervals and recorders for what it emitted. */
export interface Harness {
  readonly watcher: LogWatcher;
  readonly lines: string[];
  readonly where: { file: string; lineNumber: number; line: string }[];
  readonly rotations: RotateEvent[];
  readonly warnings: LogWatcherWarning[];
  readonly errors: Error[];
  /** Resolves once `count` lines were seen (polling the watcher), or rejects with what was seen. */
  waitLines(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `predicate` holds, checking after each poll. */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** A few more polls, to show that nothing else arrives. */
  settle(): Promise<void>;
  /**
   * Moves the watcher's clock (which stands still otherwise, so a rotated file's grace
   * period never runs out by accident on a slow machine).
   */
  advance(ms: number): void;
}

export function harness(t: TestContext, options: LogWatcherOptions): Harness {
  let clock = Date.parse('2024-03-01T00:00:00Z');
  const watcher = new LogWatcher({
    clock: () => clock,
    rules: [everyLine],
    pollInterval: 20,
    rescanInterval: 50,
    rotateGrace: 200,
    checkpointInterval: 20,
    ...options,
  });
  const h: Harness = {
    watcher,
    lines: [],
    where: [],
    rotations: [],
    warnings: [],
    errors: [],
    async until(predicate, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) {
          throw new Error(
            `Timed out waiting for ${what}; lines so far: ${JSON.stringify(h.lines.slice(-20))}, rotations: ${JSON.stringify(h.rotations)}, warnings: ${JSON.stringify(h.warnings.map((w) => w.message))}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
        await watcher.poll();
      }
    },
    waitLines(count, timeoutMs) {
      return h.until(() => h.lines.length >= count, `${count} lines`, timeoutMs);
    },
    advance(ms) {
      clock += ms;
    },
    async settle() {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await watcher.poll();
      }
    },
  };
  watcher.on('match', (m) => {
    h.lines.push(m.line);
    h.where.push({ file: m.file, lineNumber: m.lineNumber, line: m.line });
  });
  watcher.on('rotate', (e) => h.rotations.push(e));
  watcher.on('warning', (w) => h.warnings.push(w));
  watcher.on('error', (e) => h.errors.push(e));
  watchersOf.set(t, [...(watchersOf.get(t) ?? []), watcher]);
  t.after(() => watcher.stop());
  return h;
}

/** `prefix 1` … `prefix n` as lines. */
export function numbered(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${prefix} ${i}`);
  return out;
}

/** The text of lines, each ending in a newline. */
export function text(lines: readonly string[]): string {
  return lines.map((l) => `${l}\n`).join('');
}

/** How many of this process's file descriptors point at `path` (read from /proc/self/fd). */
export async function openDescriptors(path: string): Promise<number> {
  const { readdir, readlink } = await import('node:fs/promises');
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target === path || target === `${path} (deleted)`) count++;
  }
  return count;
}
