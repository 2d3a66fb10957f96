/**
 * Keeps secrets out of everything a channel reports: error messages, stacks and causes.
 * @internal
 */

const MASK = '[redacted]';

/**
 * Replaces every occurrence of each secret (and its URL-encoded form, as it appears in
 * a form body or a query string) in `text`. @internal
 */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue; // masking "a" would shred every message
    for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
      out = out.split(form).join(MASK);
    }
  }
  return out;
}

/**
 * A copy of an error chain with every secret masked in messages, stacks and string
 * fields, safe to attach as a `cause`. The original (which may carry request bodies,
 * headers or the token itself) is never exposed. @internal
 */
export function sanitizeError(error: unknown, secrets: readonly string[], depth = 0): Error {
  if (!(error instanceof Error)) return new Error(redactText(String(error), secrets));
  const copy = new Error(redactText(error.message, secrets));
  copy.name = error.name;
  copy.stack = redactText(error.stack ?? `${error.name}: ${error.message}`, secrets);
  const fields = error as unknown as Record<string, unknown>;
  for (const field of ['code', 'errno', 'syscall', 'responseCode', 'command', 'statusCode', 'status', 'retryAfter']) {
    const value = fields[field];
    if (typeof value === 'number') (copy as unknown as Record<string, unknown>)[field] = value;
    else if (typeof value === 'string') (copy as unknown as Record<string, unknown>)[field] = redactText(value, secrets);
  }
  if (error.cause !== undefined && depth < 5) {
    (copy as { cause?: unknown }).cause = sanitizeError(error.cause, secrets, depth + 1);
  }
  return copy;
}
