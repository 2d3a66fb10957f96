// The one place a captured source address is normalised, so a ban, a threshold key and a
// success-after-failures check all see the same spelling of one machine.

const MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * A captured `host` as it should be counted and banned: an IPv4-mapped IPv6 address
 * (`::ffff:1.2.3.4`, what a dual-stack sshd logs for an IPv4 client) becomes the IPv4
 * address, as fail2ban does; anything else is returned unchanged.
 *
 * @example
 * normalizeHost('::ffff:203.0.113.5'); // '203.0.113.5'
 */
export function normalizeHost(host: string): string {
  // Nearly every host starts with a digit or a letter: only a leading ':' can be mapped.
  if (host.charCodeAt(0) !== 58) return host;
  const m = MAPPED.exec(host);
  return m === null ? host : (m[1] as string);
}
