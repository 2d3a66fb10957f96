import { systemClock, type Clock } from '../core/clock.js';
import { escapeTerminal, truncateMiddle } from '../core/text.js';

/** A writable terminal stream, as `process.stderr` is. */
export interface ProgressStream {
  write(chunk: string): boolean;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** What the progress line shows. */
export interface ProgressState {
  /** Items done (files scanned). */
  readonly done: number;
  /** Items expected, when known: a bar is drawn; otherwise a spinner. */
  readonly total?: number;
  /** Extra text after the counts (e.g. bytes, findings). */
  readonly detail?: string;
  /** The item in hand (e.g. a path; attacker-controlled, escaped here). */
  readonly current?: string;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A single self-redrawing status line, drawn only on a terminal: piped output and CI
 * logs stay clean, which is what clamscan and rsync users expect. Redraws are throttled.
 */
export class ProgressLine {
  readonly #stream: ProgressStream;
  readonly #enabled: boolean;
  readonly #intervalMs: number;
  readonly #label: string;
  readonly #clock: Clock;
  #last = 0;
  #frame = 0;
  #drawn = false;

  constructor(stream: ProgressStream, label: string, options: { enabled?: boolean; intervalMs?: number; clock?: Clock } = {}) {
    this.#stream = stream;
    this.#label = label;
    this.#enabled = options.enabled ?? stream.isTTY === true;
    this.#intervalMs = options.intervalMs ?? 80;
    this.#clock = options.clock ?? systemClock;
  }

  /** Whether anything is drawn at all. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Redraws the line (at most once per interval unless `force`). */
  update(state: ProgressState, force = false): void {
    if (!this.#enabled) return;
    const now = this.#clock();
    if (!force && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    const width = Math.max(40, (this.#stream.columns ?? 80) - 1);
    let head: string;
    if (state.total !== undefined && state.total > 0) {
      const ratio = Math.min(1, state.done / state.total);
      const barWidth = 20;
      const filled = Math.round(ratio * barWidth);
      head = `${this.#label} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${state.done}/${state.total}`;
    } else {
      head = `${SPINNER[this.#frame++ % SPINNER.length]} ${this.#label} ${state.done}`;
    }
    if (state.detail) head += ` ${state.detail}`;
    let line = head;
    if (state.current !== undefined) {
      const room = width - head.length - 3;
      if (room > 10) line += ` · ${truncateMiddle(escapeTerminal(state.current, { singleLine: true }), room)}`;
    }
    this.#stream.write(`\r\u001b[2K${line.slice(0, width)}`);
    this.#drawn = true;
  }

  /** Erases the line so the next output starts clean. */
  clear(): void {
    if (this.#enabled && this.#drawn) this.#stream.write('\r\u001b[2K');
    this.#drawn = false;
  }
}
