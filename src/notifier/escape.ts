import { safeText } from '../core/text.js';

/**
 * Kept for code written against hostwarden v1; escaping lives in core's `safeText` and
 * the channel escapers built on it (`escapeSlack`, `escapeHtml`).
 */

/**
 * One safe line: {@link safeText} with `singleLine`, so CR/LF and other control
 * characters show as escapes and cannot forge a header or a log entry.
 *
 * @deprecated Use `safeText(text, { singleLine: true })`.
 * @example
 * oneLine('Alert\r\nBcc: victim@example.com'); // 'Alert\\r\\nBcc: victim@example.com'
 */
export function oneLine(text: string): string {
  return safeText(text, { singleLine: true });
}

/**
 * Safe text cut to at most `max` code units, ending with `…` when cut.
 *
 * @deprecated Use `safeText(text, { max })`.
 * @example
 * truncate('abcdef', 4); // 'abc…'
 */
export function truncate(text: string, max: number): string {
  return safeText(text, { max });
}
