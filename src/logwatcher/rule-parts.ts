// Building blocks shared by the built-in rule sets: the host pattern, fail2ban's default
// thresholds, and the freezing helper. The host-extraction policy they serve is written down
// in docs/logwatcher-rules.md: a `host` is captured only where fixed words OpenSSH or PAM
// write themselves surround it, so text an attacker chose (user names, key IDs, PAM items,
// client messages) can neither move nor hide it.
import type { LogRule, RuleThreshold } from './rule.js';

/** A source address or name. IPv4-mapped IPv6 is normalised by the matcher (see host.ts). */
export const HOST = String.raw`(?<host>[\w.:%-]+)`;
/** ` port 22`, optional: OpenSSH before 7.x and several PAM/macOS messages have none. */
export const OPT_PORT = String.raw`(?: port \d+)?`;
/** fail2ban's `__on_port_opt`: the optional port and `on <local address>` of a connection. */
export const ON_PORT = String.raw`(?: port \d+)?(?: on \S+(?: port \d+)?)?`;
/** The protocol OpenSSH names after the port (`ssh2`; `ssh1` in old logs). */
export const PROTO = String.raw`(?: ssh\d?)?`;
export const PREAUTH = String.raw`(?: \[preauth\])?`;
/** The `invalid user ` (or old `illegal user `) marker before an attempted user name. */
export const INVALID = String.raw`(?:(?:invalid|illegal) user )?`;
/** The programs OpenSSH logs as: `sshd`, and since 9.8 `sshd-session` / `sshd-auth`. */
export const SSHD = ['sshd', 'sshd-session', 'sshd-auth'] as const;

const TEN_MINUTES = 10 * 60_000;

/**
 * fail2ban's defaults (maxretry 5, findtime 10m) for SSH failures, counted per source address.
 * Rules sharing it share one counter per address.
 */
export const SSH_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 5,
  within: TEN_MINUTES,
  groupBy: 'host',
  rule: 'sshd.brute-force',
  severity: 'critical',
  title: 'SSH brute force from {host} ({count} failures in {within})',
});

/** The same for other PAM services (vsftpd, dovecot, login over the network…). */
export const PAM_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 5,
  within: TEN_MINUTES,
  groupBy: 'host',
  rule: 'pam.brute-force',
  severity: 'critical',
  title: 'Authentication brute force from {host} via {service} ({count} failures in {within})',
});

export const SU_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 3,
  within: TEN_MINUTES,
  groupBy: 'ruser',
  rule: 'su.brute-force',
  severity: 'warning',
  title: 'Repeated failed su by {ruser} ({count} failures in {within})',
});

export const LOGIN_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 5,
  within: TEN_MINUTES,
  groupBy: 'user',
  rule: 'login.brute-force',
  severity: 'warning',
  title: 'Repeated failed logins for {user} ({count} failures in {within})',
});

export const SSH_SCAN: RuleThreshold = Object.freeze({
  count: 10,
  within: TEN_MINUTES,
  groupBy: 'host',
  rule: 'sshd.scan',
  severity: 'warning',
  title: 'SSH scanning from {host} ({count} probes in {within})',
});

/** A built-in rule, frozen with its lists. */
export const rule = (r: LogRule): LogRule => Object.freeze({ ...r, tags: Object.freeze([...r.tags]), ...(r.programs ? { programs: Object.freeze([...r.programs]) } : {}) });

export const re = (source: string): RegExp => new RegExp(source);
