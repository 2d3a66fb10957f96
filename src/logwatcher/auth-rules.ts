import { HOST, LOGIN_BRUTE_FORCE, PAM_BRUTE_FORCE, re, rule, SSH_SCAN, SSHD, SU_BRUTE_FORCE } from './rule-parts.js';
import type { LogRule } from './rule.js';
import { PAM_ITEMS, sshdRules } from './ssh-rules.js';

/**
 * sudo's `KEY=value ; ` fields after the reason, up to `USER=<runas>` and, when present, the
 * `COMMAND=`. Each field is `[^;]*` (it cannot run past its separator) and nothing follows the
 * command's optional group, so a line of many `USER=` or `;` fails or matches in one pass
 * (v1's `.*? USER=… .*? COMMAND=…$` was cubic: 17 s for a 64 KiB line any user can log).
 */
const PORT = String.raw`port (?<port>\d+)`;

const SUDO_FIELDS = String.raw`(?:[^;]* ; )*?USER=(?<runas>[^\s;]+)(?:(?: ; [^;]*)*? ; COMMAND=(?<command>.*))?`;

/**
 * Built-in rules for OpenSSH 7–9 (`sshd`, and `sshd-session` / `sshd-auth` since 9.8),
 * PAM, sudo, su and login, as their lines really appear in auth.log and the journal.
 *
 * - Failed and abusive attempts carry the tag `'auth-failure'` and capture `host` (the
 *   real source address, never one injected through a user name) and `user` where the
 *   line has them; successful logins carry `'auth-success'`.
 * - SSH failures count towards one threshold per source address: 5 within 10 minutes fire
 *   `sshd.brute-force` (critical). Lines OpenSSH always logs in addition to a counted line
 *   of the same attempt (PAM's own `pam_unix(sshd:auth)` line, PAM's "N more failures"
 *   summary, the "Too many authentication failures" disconnect after "maximum
 *   authentication attempts exceeded", the close of a connection by an invalid user)
 *   match but do not count, so one attempt is not counted twice.
 * - Informational noise (key exchange, `Unable to negotiate`, normal `Received disconnect`,
 *   `Postponed`, sessions opened and closed, reverse-mapping warnings) matches nothing.
 *   Pre-authentication probes (port scanners, non-SSH clients) are in {@link sshProbeRules}.
 *
 * @example
 * const watcher = new LogWatcher({ files: ['/var/log/auth.log'], rules: authRules });
 * watcher.on('match', (m) => { if (m.rule.tags.includes('auth-failure')) console.log(m.fields.host); });
 */
export const authRules: readonly LogRule[] = Object.freeze([
  ...sshdRules,
  rule({
    id: 'pam.auth-failure',
    description: 'PAM authentication failure',
    severity: 'warning',
    tags: ['auth-failure', 'pam'],
    prefilter: ':auth): authentication failure;',
    pattern: re(String.raw`^pam_[\w-]+\((?!sshd:)(?<service>[\w-]+):auth\):\s+authentication failure;${PAM_ITEMS}`),
    alert: PAM_BRUTE_FORCE,
  }),
  rule({
    id: 'pam.more-failures',
    description: "PAM's summary of further failures in one session (each was logged already)",
    severity: 'info',
    tags: ['auth-failure', 'pam'],
    prefilter: ' more authentication failure',
    pattern: re(String.raw`^(?:PAM )?(?<count>\d+) more authentication failures?;${PAM_ITEMS}`),
    alert: 'never',
  }),
  rule({
    id: 'pam.user-unknown',
    description: 'PAM asked to check the password of an unknown user',
    severity: 'info',
    tags: ['auth-failure', 'pam'],
    prefilter: 'check pass; user unknown',
    // Also the legacy `sshd(pam_unix)[pid]: check pass; user unknown`.
    pattern: /^(?:pam_[\w-]+\((?<service>[\w-]+):auth\): )?check pass; user unknown$/,
    alert: 'never',
  }),
  rule({
    id: 'pam.faillock',
    description: 'pam_faillock locked an account after consecutive failures',
    severity: 'warning',
    tags: ['auth-failure', 'pam'],
    prefilter: 'Consecutive login failures for user ',
    pattern: /^pam_faillock\((?<service>[\w-]+):auth\): Consecutive login failures for user (?<user>\S+) account temporarily locked/,
    alert: 'every',
  }),
  rule({
    id: 'sudo.incorrect-password',
    description: 'sudo: incorrect password attempts',
    severity: 'warning',
    tags: ['auth-failure', 'sudo'],
    programs: ['sudo'],
    prefilter: ' incorrect password attempt',
    pattern: re(String.raw`^ *(?<user>\S+) : (?<attempts>\d+) incorrect password attempts? ; ${SUDO_FIELDS}`),
    alert: 'every',
  }),
  rule({
    id: 'sudo.not-allowed',
    description: 'sudo: user not in sudoers',
    severity: 'warning',
    tags: ['auth-failure', 'sudo'],
    programs: ['sudo'],
    prefilter: ' NOT ',
    pattern: re(String.raw`^ *(?<user>\S+) : (?:[^;]* ; )?user NOT (?:in sudoers|authorized on host) ; ${SUDO_FIELDS}`),
    alert: 'every',
  }),
  rule({
    id: 'sudo.command-not-allowed',
    description: 'sudo: command not allowed by sudoers',
    severity: 'warning',
    tags: ['auth-failure', 'sudo'],
    programs: ['sudo'],
    prefilter: ' command not allowed ;',
    pattern: re(String.raw`^ *(?<user>\S+) : (?:[^;]* ; )?command not allowed ; ${SUDO_FIELDS}`),
    alert: 'every',
  }),
  rule({
    id: 'su.failed',
    description: 'su: authentication failed',
    severity: 'warning',
    tags: ['auth-failure', 'su'],
    programs: ['su'],
    pattern: /^FAILED SU \(to (?<user>\S+)\) (?<ruser>\S+) on (?<tty>\S+)$/,
    alert: SU_BRUTE_FORCE,
  }),
  rule({
    id: 'su.failed-shadow',
    description: 'su: authentication failed (shadow-utils su)',
    severity: 'warning',
    tags: ['auth-failure', 'su'],
    programs: ['su'],
    pattern: /^FAILED su for (?<user>\S+) by (?<ruser>\S+)$/,
    alert: SU_BRUTE_FORCE,
  }),
  rule({
    id: 'su.pam-authenticate',
    description: 'su: PAM authentication failed (util-linux su; counted through FAILED SU)',
    severity: 'info',
    tags: ['auth-failure', 'su'],
    programs: ['su'],
    pattern: /^pam_authenticate: Authentication failure$/,
    alert: 'never',
  }),
  rule({
    id: 'su.success',
    description: 'su: switched user',
    severity: 'info',
    tags: ['auth-success', 'su'],
    programs: ['su'],
    pattern: /^\(to (?<user>\S+)\) (?<ruser>\S+) on (?<tty>\S+)$/,
    alert: 'never',
  }),
  rule({
    id: 'su.success-shadow',
    description: 'su: switched user (shadow-utils su)',
    severity: 'info',
    tags: ['auth-success', 'su'],
    programs: ['su'],
    pattern: /^Successful su for (?<user>\S+) by (?<ruser>\S+)$/,
    alert: 'never',
  }),
  rule({
    id: 'login.failed',
    description: 'login: authentication failed',
    severity: 'warning',
    tags: ['auth-failure', 'login'],
    programs: ['login'],
    prefilter: 'FAILED LOGIN ',
    pattern: /^FAILED LOGIN (?:\(\d+\)|\d+)(?: on '(?<tty>[^']*)')? (?:(?:from|FROM) '?(?<host>[^' ]*)'? )?FOR '?(?<user>[^',]*)'?, (?<reason>.+)$/,
    alert: LOGIN_BRUTE_FORCE,
  }),
]);

/**
 * Opt-in rules for pre-authentication probes: port scanners and non-SSH clients that
 * connect and leave without trying to log in (fail2ban's `mode = aggressive` lines).
 * Tagged `'ssh-probe'`, not `'auth-failure'`: they are common background noise on any
 * public host, so they count towards their own threshold, `sshd.scan` (10 in 10 minutes
 * per address, warning).
 *
 * @example
 * new LogWatcher({ files: ['/var/log/auth.log'], rules: [...authRules, ...sshProbeRules] });
 */
export const sshProbeRules: readonly LogRule[] = Object.freeze([
  rule({
    id: 'sshd.no-identification',
    description: 'SSH client sent no identification string',
    severity: 'info',
    tags: ['ssh-probe', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^Did not receive identification string from ${HOST}(?: ${PORT})?$`),
    alert: SSH_SCAN,
  }),
  rule({
    id: 'sshd.bad-banner',
    description: 'SSH client sent an invalid banner',
    severity: 'info',
    tags: ['ssh-probe', 'ssh'],
    programs: SSHD,
    prefilter: 'banner exchange: Connection from ',
    pattern: re(String.raw`^(?:error: )?banner exchange: Connection from ${HOST} ${PORT}: (?<reason>.+)$`),
    alert: SSH_SCAN,
  }),
  rule({
    id: 'sshd.bad-protocol',
    description: 'SSH client sent a bad protocol version identification',
    severity: 'info',
    tags: ['ssh-probe', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^Bad protocol version identification '.*' from ${HOST}(?: ${PORT})?$`),
    alert: SSH_SCAN,
  }),
  rule({
    id: 'sshd.negotiation-failed',
    description: 'SSH client offered no acceptable algorithm',
    severity: 'info',
    tags: ['ssh-probe', 'ssh'],
    programs: SSHD,
    prefilter: 'Unable to negotiate with ',
    pattern: re(String.raw`^(?:fatal: )?Unable to negotiate with ${HOST} ${PORT}: no matching (?<what>[\w ]+?) found`),
    alert: SSH_SCAN,
  }),
  rule({
    id: 'sshd.preauth-close',
    description: 'SSH connection closed before any authentication attempt',
    severity: 'info',
    tags: ['ssh-probe', 'ssh'],
    programs: SSHD,
    prefilter: ' [preauth]',
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) ${HOST} ${PORT} \[preauth\]$`),
    alert: SSH_SCAN,
  }),
  rule({
    id: 'sshd.grace-timeout',
    description: 'SSH client did not authenticate within LoginGraceTime',
    severity: 'info',
    tags: ['ssh-probe', 'ssh'],
    programs: SSHD,
    prefilter: 'Timeout before authentication for ',
    pattern: re(String.raw`^(?:fatal: )?Timeout before authentication for ${HOST}(?: ${PORT})?$`),
    alert: SSH_SCAN,
  }),
]);

/**
 * The alert rules of {@link authRules} whose `labels.host` is the address of an attacker:
 * the brute-force thresholds counted per source address and `auth.success-after-failures`.
 * The default `rules` of a BanManager; `su.brute-force` and `login.brute-force` are counted
 * per local user and name no address to ban.
 *
 * @example
 * new BanManager({ backend, rules: authBanRules });
 */
export const authBanRules: readonly string[] = Object.freeze(['sshd.brute-force', 'pam.brute-force', 'auth.success-after-failures']);
