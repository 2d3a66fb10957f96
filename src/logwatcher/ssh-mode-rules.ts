// fail2ban's opt-in sshd modes as rule sets: `ddos` (connections that never authenticate:
// port scanners, floods) and `extra` (clients that cannot agree on algorithms or methods).
// They count towards the same `sshd.brute-force` threshold as the normal rules, as in
// fail2ban, so they are opt-in: on a public host they make every scanner a brute forcer.
import { HOST, ON_PORT, PREAUTH, re, rule, SSH_BRUTE_FORCE, SSHD } from './rule-parts.js';
import type { LogRule } from './rule.js';
import { sshdRules } from './ssh-rules.js';

const probe = (r: Omit<LogRule, 'severity' | 'tags' | 'programs' | 'alert'>): LogRule =>
  rule({ severity: 'info', tags: ['auth-failure', 'ssh', 'ssh-probe'], programs: SSHD, alert: SSH_BRUTE_FORCE, attempt: 'each', ...r });

/** fail2ban's `mode = ddos` lines. */
export const sshDdosRules: readonly LogRule[] = Object.freeze([
  probe({
    id: 'sshd.ddos.no-identification',
    description: 'SSH client sent no identification string',
    pattern: re(String.raw`^Did not receive identification string from ${HOST}${ON_PORT}\s*$`),
  }),
  probe({
    id: 'sshd.ddos.kex-identification',
    description: 'SSH client sent no valid protocol identification (the address comes from the connection)',
    prefilter: 'kex_exchange_identification: ',
    pattern: /^(?:error: )?kex_exchange_identification: (?:read: )?(?:[Cc]lient sent invalid protocol identifier|[Cc]onnection (?:closed by remote host|reset by peer))/,
  }),
  probe({
    id: 'sshd.ddos.bad-protocol',
    description: 'SSH client sent a bad protocol version identification',
    // The quoted banner is the client's: the address is the one that ends the line.
    pattern: re(String.raw`^Bad protocol version identification '.*' from ${HOST}${ON_PORT}\s*$`),
  }),
  probe({
    id: 'sshd.ddos.bad-banner',
    description: 'SSH client sent an invalid banner',
    prefilter: 'banner exchange: Connection from ',
    pattern: re(String.raw`^(?:error: )?banner exchange: Connection from ${HOST}${ON_PORT}: invalid format\s*$`),
  }),
  probe({
    id: 'sshd.ddos.socket-reset',
    description: 'SSH client reset the connection during key exchange (the address comes from the connection)',
    prefilter: 'Read from socket failed: Connection reset by peer',
    pattern: re(String.raw`^(?:fatal: )?Read from socket failed: Connection reset by peer${PREAUTH}\s*$`),
  }),
  probe({
    id: 'sshd.ddos.preauth-close',
    description: 'SSH connection closed before authentication',
    prefilter: ' [preauth]',
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) ${HOST}${ON_PORT} \[preauth\]\s*$`),
    attempt: 'connection',
  }),
  probe({
    id: 'sshd.ddos.preauth-close-user',
    description: 'SSH connection of a named user closed before authentication',
    prefilter: ' user ',
    // The user name is the client's: the address is the one before the fixed `port <n> [preauth]` end.
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) (?:invalid|authenticating) user (?<user>.*) ${HOST} port \d+ \[preauth\]\s*$`),
    attempt: 'connection',
  }),
  rule({
    id: 'sshd.ddos.server-log',
    description: 'Connection details of patched sshd builds (`SSH: Server;Ltype:`): names the address',
    severity: 'info',
    tags: ['ssh', 'ssh-connection', 'ssh-connection-open'],
    programs: SSHD,
    prefilter: 'SSH: Server;Ltype: ',
    pattern: re(String.raw`^SSH: Server;Ltype: (?:Authname|Version|Kex);Remote: ${HOST}-\d+;[A-Z]\w+:`),
    alert: 'never',
  }),
]);

/** fail2ban's `mode = extra` lines. */
export const sshExtraRules: readonly LogRule[] = Object.freeze([
  probe({
    id: 'sshd.extra.no-auth-methods',
    description: 'SSH client had no authentication method the server offers (disconnect code 14)',
    prefilter: 'Received disconnect from ',
    pattern: re(String.raw`^(?:error: )?Received disconnect from ${HOST}${ON_PORT}:\s*14: No(?: supported)? authentication methods available${PREAUTH}\s*$`),
  }),
  probe({
    id: 'sshd.extra.negotiation-failed',
    description: 'SSH client offered no acceptable algorithm',
    prefilter: 'Unable to negotiate with ',
    pattern: re(String.raw`^(?:fatal: )?Unable to negotiate with ${HOST}${ON_PORT}: no matching (?<what>\w+(?: \w+){0,3}) found\.`),
  }),
  probe({
    id: 'sshd.extra.negotiation-failed-legacy',
    description: 'SSH client offered no acceptable algorithm (older OpenSSH; the address comes from the connection)',
    pattern: /^(?:fatal: )?(?:Unable to negotiate an? \w+(?: \w+){0,3}|no matching \w+(?: \w+){0,3} found:)/,
  }),
]);

/** fail2ban's sshd filter modes. */
export type SshMode = 'normal' | 'ddos' | 'extra' | 'aggressive';

/**
 * The SSH rules of one of fail2ban's sshd modes: `normal` (the default, = the SSH part of
 * {@link authRules}), `ddos`, `extra`, or `aggressive` (both). Modes replace the normal
 * rules a mode line would also match (the connection-close helper), so one line never
 * counts twice.
 *
 * @example
 * new LogWatcher({ files: ['/var/log/auth.log'], rules: sshModeRules('aggressive') });
 */
export function sshModeRules(mode: SshMode): readonly LogRule[] {
  const ddos = mode === 'ddos' || mode === 'aggressive';
  const extra = mode === 'extra' || mode === 'aggressive';
  // ddos' preauth-close covers the closes of named users too (and counts them the same way).
  const base = ddos ? sshdRules.filter((r) => r.id !== 'sshd.closed-authenticating' && r.id !== 'sshd.closed-invalid-user') : sshdRules;
  return Object.freeze([...base, ...(ddos ? sshDdosRules : []), ...(extra ? sshExtraRules : [])]);
}
