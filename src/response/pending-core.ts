/**
 * Stand-ins for the shared core conventions (issue #13) until branch `core` lands:
 * the same names and shapes, so adopting them is an import change. Replace with
 * `core/clock.ts` and `core/warning.ts` and delete this file.
 * @internal
 */
import { escapeTerminal } from '../core/terminal.js';

/** Milliseconds since the epoch; tests pass a fake. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();

/** The payload of every `'warning'` event. */
export interface Warning {
  /** A stable machine-readable reason, e.g. `ban.invalid-address`. */
  code: string;
  /** One line for people; attacker text in it is escaped. */
  message: string;
  /** The exact path involved, if any. */
  path?: string;
  /** The lower-level error, if any. */
  cause?: unknown;
}

/** Builds a {@link Warning}. */
export function createWarning(code: string, message: string, extra: { path?: string; cause?: unknown } = {}): Warning {
  return { code, message, ...extra };
}

/** Attacker-controlled text made safe to show on one line (control characters, bidi, length). */
export function safeText(text: string, max = 200): string {
  const escaped = escapeTerminal(text, { singleLine: true });
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}
