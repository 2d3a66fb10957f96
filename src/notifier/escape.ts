/**
 * Escaping for attacker-controlled text (log lines, file names, user names) on its way
 * into a message. Every channel runs every field that can carry such text through one
 * of these before it is shown.
 */

/**
 * Escapes text for Slack `mrkdwn` and Block Kit: `&`, `<` and `>` become entities, so
 * `<!channel>`, `<!here>`, `<@U123>` and `<https://evil|click>` show as text and can
 * neither ping nor link.
 *
 * @example
 * escapeSlack('<!channel> & <@U1>'); // '&lt;!channel&gt; &amp; &lt;@U1&gt;'
 */
export function escapeSlack(text: string): string {
  return text.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/**
 * Escapes text for the inside of a Slack code block: Slack escaping plus broken
 * backtick runs, so a line containing ```` ``` ```` cannot close the block and turn the
 * rest of the evidence into live mrkdwn.
 *
 * @example
 * escapeSlackCode('x ``` <!here>'); // 'x `\u200b`\u200b` &lt;!here&gt;'
 */
export function escapeSlackCode(text: string): string {
  return escapeSlack(text).replace(/`(?=`)/g, '`\u200b');
}

/**
 * Full HTML escaping for text and attribute values.
 *
 * @example
 * escapeHtml('<script>"x"</script>'); // '&lt;script&gt;&quot;x&quot;&lt;/script&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => HTML_ENTITIES[c] ?? c);
}

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Makes text safe for one line: a mail header, a log message, a Slack header. CR, LF
 * and other control characters (which could forge a header or a log entry) become
 * spaces, and runs of whitespace collapse.
 *
 * @example
 * oneLine('Alert\r\nBcc: victim@example.com'); // 'Alert Bcc: victim@example.com'
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').replace(/\s{2,}/g, ' ').trim();
}

/**
 * Removes control characters except newline and tab, for multi-line bodies.
 * @internal
 */
export function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

/**
 * Cuts text to at most `max` characters (counted in UTF-16 units, as Slack and SMTP
 * limits are), ending with `…` when cut and never splitting a surrogate pair.
 *
 * @example
 * truncate('abcdef', 4); // 'abc…'
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return max === 1 ? '…' : '';
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * Truncates after escaping without cutting an entity such as `&amp;` in half.
 * @internal
 */
export function escapeThenTruncate(text: string, max: number, escape: (s: string) => string): string {
  const escaped = escape(text);
  if (escaped.length <= max) return escaped;
  let cut = truncate(escaped, max);
  // A cut inside `&lt;` would leave `&l…`, which renders as text but looks broken.
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.slice(amp).includes(';')) cut = `${cut.slice(0, amp)}…`;
  return cut;
}
