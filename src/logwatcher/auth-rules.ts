import type { LogRule, RuleThreshold } from './rule.js';

// Building blocks. Every pattern is written so that attacker-chosen text (user names,
// client banners) cannot move the captured source address: user names are matched
// greedily up to the LAST ` from <host> port <n>` (or `<host> port <n>`) before the
// fixed end of the line, and no pattern nests quantifiers, so matching stays linear.
const HOST = String.raw`(?<host>[\w.:%-]+)`;
const PORT = String.raw`port (?<port>\d+)`;
const PREAUTH = String.raw`(?: \[preauth\])?`;
const INVALID = String.raw`(?:(?:invalid|illegal) user )?`;
const SSHD = ['sshd', 'sshd-session', 'sshd-auth'] as const;

const TEN_MINUTES = 10 * 60_000;

/**
 * fail2ban's defaults (maxretry 5, findtime 10m) for SSH failures, counted per source address.
 * Rules sharing it share one counter per address.
 */
const SSH_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 5,
  within: TEN_MINUTES,
  groupBy: 'host',
  rule: 'sshd.brute-force',
  severity: 'critical',
  title: 'SSH brute force from {host} ({count} failures in {within})',
});

const PAM_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 5,
  within: TEN_MINUTES,
  groupBy: 'host',
  rule: 'pam.brute-force',
  severity: 'critical',
  title: 'Authentication brute force from {host} via {service} ({count} failures in {within})',
});

const SU_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 3,
  within: TEN_MINUTES,
  groupBy: 'ruser',
  rule: 'su.brute-force',
  severity: 'warning',
  title: 'Repeated failed su by {ruser} ({count} failures in {within})',
});

const LOGIN_BRUTE_FORCE: RuleThreshold = Object.freeze({
  count: 5,
  within: TEN_MINUTES,
  groupBy: 'user',
  rule: 'login.brute-force',
  severity: 'warning',
  title: 'Repeated failed logins for {user} ({count} failures in {within})',
});

const SSH_SCAN: RuleThreshold = Object.freeze({
  count: 10,
  within: TEN_MINUTES,
  groupBy: 'host',
  rule: 'sshd.scan',
  severity: 'warning',
  title: 'SSH scanning from {host} ({count} probes in {within})',
});

const rule = (r: LogRule): LogRule => Object.freeze({ ...r, tags: Object.freeze([...r.tags]), ...(r.programs ? { programs: Object.freeze([...r.programs]) } : {}) });

const re = (source: string): RegExp => new RegExp(source);

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
  rule({
    id: 'sshd.failed-auth',
    description: 'SSH authentication failed (password, publickey, keyboard-interactive, …)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^Failed (?<method>\S+) for ${INVALID}(?<user>.*) from ${HOST} ${PORT}(?: ssh\d?)?${PREAUTH}(?:: .*)?$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.invalid-user',
    description: 'SSH login attempt for a user that does not exist',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'user ',
    pattern: re(String.raw`^(?:Invalid|Illegal) user (?<user>.*) from ${HOST}(?: ${PORT})?${PREAUTH}$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.invalid-user-request',
    description: 'SSH authentication request for a user that does not exist (OpenSSH 6–7; counted through Invalid user)',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^input_userauth_request: invalid user (?<user>.*?)${PREAUTH}$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.max-auth-tries',
    description: 'SSH client exceeded MaxAuthTries',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'maximum authentication attempts exceeded for ',
    pattern: re(String.raw`^(?:error: )?maximum authentication attempts exceeded for ${INVALID}(?<user>.*) from ${HOST} ${PORT}(?: ssh\d?)?${PREAUTH}$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.too-many-failures',
    description: 'SSH disconnected a client after too many authentication failures',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^Disconnecting (?:(?:invalid|authenticating) user (?<user>.*) )?${HOST} ${PORT}: Too many authentication failures${PREAUTH}$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.too-many-failures-legacy',
    description: 'SSH disconnected a client after too many authentication failures (OpenSSH before 7.5)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'Disconnecting: Too many authentication failures',
    pattern: re(String.raw`^(?:error: |fatal: )?Disconnecting: Too many authentication failures(?: for ${INVALID}(?<user>.*?))?${PREAUTH}$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.closed-authenticating',
    description: 'SSH connection of a user in the middle of authenticating closed before success',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' authenticating user ',
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) authenticating user (?<user>.*) ${HOST} ${PORT}${PREAUTH}$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.closed-invalid-user',
    description: 'SSH connection for a non-existent user closed before authentication',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' invalid user ',
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) invalid user (?<user>.*) ${HOST} ${PORT}${PREAUTH}$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.user-not-allowed',
    description: 'SSH login refused by AllowUsers/DenyUsers/AllowGroups/DenyGroups or a locked account',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' not allowed because ',
    pattern: re(String.raw`^User (?<user>\S+)(?: from ${HOST})? not allowed because (?<reason>.+)$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.root-login-refused',
    description: 'SSH root login refused (PermitRootLogin)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^(?<user>ROOT) LOGIN REFUSED FROM ${HOST}(?: ${PORT})?${PREAUTH}$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.pam-error',
    description: "SSH's PAM conversation reported an authentication failure",
    severity: 'warning',
    tags: ['auth-failure', 'ssh', 'pam'],
    programs: SSHD,
    prefilter: 'PAM: ',
    pattern: re(
      String.raw`^(?:error: )?PAM: (?:Authentication failure|authentication error|User not known to the underlying authentication module|Maximum retries exceeded|Permission denied) for ${INVALID}(?<user>.*) from ${HOST}$`,
    ),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.penalty',
    description: 'sshd dropped a connection from a penalised source (PerSourcePenalties, OpenSSH 9.8+)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' penalty: ',
    pattern: re(String.raw`^drop connection #\d+ from \[${HOST}\]:${'(?<port>\\d+)'} on \[[^\]]*\]:\d+ penalty: (?<reason>.+)$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.auth-disconnect',
    description: 'SSH client gave up authenticating (disconnect code 14, no more methods; or a JSch "Auth fail")',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'Received disconnect from ',
    // Disconnects other than code 11 are logged at error level, hence `error: `.
    pattern: re(String.raw`^(?:error: )?Received disconnect from ${HOST}(?: ${PORT})?:\s*(?:14: .*|3: .*Auth fail.*)$`),
    alert: 'never',
  }),
  rule({
    id: 'tcpd.refused',
    description: 'SSH connection refused by TCP wrappers (hosts.deny)',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^refused connect from \S+ \(${HOST}\)$`),
    alert: SSH_BRUTE_FORCE,
  }),
  rule({
    id: 'sshd.accepted',
    description: 'SSH login succeeded',
    severity: 'info',
    tags: ['auth-success', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^Accepted (?<method>\S+) for (?<user>.*) from ${HOST} ${PORT}(?: ssh\d?)?(?:: .*)?$`),
    alert: 'never',
  }),
  rule({
    id: 'pam.sshd-auth-failure',
    description: 'PAM authentication failure for sshd (counted through the matching sshd line)',
    severity: 'info',
    tags: ['auth-failure', 'pam', 'ssh'],
    prefilter: '(sshd:auth): authentication failure;',
    pattern: re(String.raw`^pam_[\w-]+\(sshd:auth\): authentication failure;.*? ruser=(?<ruser>\S*) rhost=(?<host>\S*)(?:\s+user=(?<user>\S*))?\s*$`),
    alert: 'never',
  }),
  rule({
    id: 'pam.auth-failure',
    description: 'PAM authentication failure',
    severity: 'warning',
    tags: ['auth-failure', 'pam'],
    prefilter: ':auth): authentication failure;',
    pattern: re(
      String.raw`^pam_[\w-]+\((?!sshd:)(?<service>[\w-]+):auth\): authentication failure;.*? ruser=(?<ruser>\S*) rhost=(?<host>\S*)(?:\s+user=(?<user>\S*))?\s*$`,
    ),
    alert: PAM_BRUTE_FORCE,
  }),
  rule({
    id: 'pam.more-failures',
    description: "PAM's summary of further failures in one session (each was logged already)",
    severity: 'info',
    tags: ['auth-failure', 'pam'],
    prefilter: ' more authentication failure',
    pattern: re(String.raw`^PAM (?<count>\d+) more authentication failures?;.*? ruser=(?<ruser>\S*) rhost=(?<host>\S*)(?:\s+user=(?<user>\S*))?\s*$`),
    alert: 'never',
  }),
  rule({
    id: 'pam.user-unknown',
    description: 'PAM asked to check the password of an unknown user',
    severity: 'info',
    tags: ['auth-failure', 'pam'],
    prefilter: 'check pass; user unknown',
    pattern: /^pam_[\w-]+\((?<service>[\w-]+):auth\): check pass; user unknown$/,
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
    pattern: /^\s*(?<user>\S+) : (?<attempts>\d+) incorrect password attempts? ;.*? USER=(?<runas>[^\s;]+)(?: ;.*? COMMAND=(?<command>.*))?$/,
    alert: 'every',
  }),
  rule({
    id: 'sudo.not-allowed',
    description: 'sudo: user not in sudoers',
    severity: 'warning',
    tags: ['auth-failure', 'sudo'],
    programs: ['sudo'],
    prefilter: ' NOT ',
    pattern: /^\s*(?<user>\S+) : (?:.*? ; )?user NOT (?:in sudoers|authorized on host) ;.*? USER=(?<runas>[^\s;]+)(?: ;.*? COMMAND=(?<command>.*))?$/,
    alert: 'every',
  }),
  rule({
    id: 'sudo.command-not-allowed',
    description: 'sudo: command not allowed by sudoers',
    severity: 'warning',
    tags: ['auth-failure', 'sudo'],
    programs: ['sudo'],
    prefilter: ' command not allowed ;',
    pattern: /^\s*(?<user>\S+) : (?:.*? ; )?command not allowed ;.*? USER=(?<runas>[^\s;]+)(?: ;.*? COMMAND=(?<command>.*))?$/,
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
