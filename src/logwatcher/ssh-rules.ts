// OpenSSH's own lines (sshd, sshd-session, sshd-auth), fail2ban's `normal` mode and the
// opt-in `ddos` / `extra` lines. Every pattern is anchored at both ends on words OpenSSH
// writes itself; where attacker text (a user name, a key ID, a client message) stands next to
// the address, the pattern says which side it is on (see docs/logwatcher-rules.md), and no
// pattern nests quantifiers, so each runs in time linear in the line (proven by a test).
import { HOST, INVALID, ON_PORT, PREAUTH, PROTO, re, rule, SSH_BRUTE_FORCE, SSHD } from './rule-parts.js';
import type { LogRule } from './rule.js';

/** The tail after the address of a `Failed`/`Accepted` line: port, protocol, and `: <key info>`. */
const AUTH_TAIL = String.raw`${ON_PORT}${PROTO}${PREAUTH}(?:: .*)?`;
/**
 * An attempted user name followed by ` from <host>` and {@link AUTH_TAIL}. A name without
 * spaces (every real account) is tried first: the address right after it, so a certificate
 * key ID after `ssh2: ` cannot move it. A name with spaces (an invalid user) is then taken up
 * to the last ` from <host>` before the line's first colon, which can only be the `ssh2: `
 * of the key info (or the address itself): a name containing ` from <ip> port <n> ssh2` cannot
 * move the address, and neither can a key ID. A name that contains a colon matches nothing;
 * its attempt still counts through the connection's `Invalid user` line. The one text that
 * reads two ways (a spaceless name, then a `: ` suffix naming another address) is settled
 * by the connection's own address (see attempts.ts).
 */
const USER_FROM_HOST = String.raw`(?<user>\S+|[^:]*) from ${HOST}${AUTH_TAIL}$`;

/**
 * `logname= uid= euid= tty= ruser=<R> rhost=<H> [user=<U>]`, PAM's failure items. R and U
 * may be attacker-chosen (the attempted name; pam_sss logs unknown names with spaces), and PAM
 * writes exactly one ` rhost=`: a line where R or U contains another reads two ways (either
 * could be the real one), so it yields no address at all rather than possibly a forged one.
 * Spaces and anything else in R and U are fine.
 */
export const PAM_ITEMS = String.raw`(?: logname=\S*)?(?: +uid=\d*)?(?: +euid=\d*)?(?: +tty=\S*)? +ruser=(?<ruser>(?:(?! rhost=).)*?) +rhost=(?:${HOST})?(?: +user=(?<user>(?:(?! rhost=).)*?))?${PREAUTH}\s*$`;

/** The lines of fail2ban's `normal` sshd mode, and the lines that give a connection its address. */
export const sshdRules: readonly LogRule[] = Object.freeze([
  rule({
    id: 'sshd.failed-auth',
    description: 'SSH authentication failed (password, keyboard-interactive, hostbased, …)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' from ',
    // `Failed publickey for <valid user>` is a client trying its keys in turn: see below.
    pattern: re(String.raw`^Failed (?!publickey )(?<method>\S+) for ${INVALID}${USER_FROM_HOST}`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'each',
  }),
  rule({
    id: 'sshd.failed-publickey-invalid-user',
    description: 'SSH public key offered for a user that does not exist',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' from ',
    pattern: re(String.raw`^Failed (?<method>publickey) for (?:invalid|illegal) user ${USER_FROM_HOST}`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'each',
  }),
  rule({
    id: 'sshd.failed-publickey',
    description: "SSH public key not accepted for an existing user (a client trying its keys in turn; counted only through the connection's end)",
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' from ',
    pattern: re(String.raw`^Failed (?<method>publickey) for (?!(?:invalid|illegal) user )(?<user>\S+) from ${HOST}${AUTH_TAIL}$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.invalid-user',
    description: 'SSH login attempt for a user that does not exist',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'user ',
    pattern: re(String.raw`^(?:Invalid|Illegal|invalid|illegal) user (?<user>.*) from ${HOST}${ON_PORT}${PREAUTH}\s*$`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'prelude',
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
    id: 'sshd.user-not-allowed',
    description: 'SSH login refused by AllowUsers/DenyUsers/AllowGroups/DenyGroups',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' not allowed because ',
    pattern: re(
      String.raw`^User (?<user>.*) from ${HOST} not allowed because (?<reason>not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups|shell \S+ (?:does not exist|is not executable)|account is locked)${ON_PORT}${PREAUTH}\s*$`,
    ),
    alert: SSH_BRUTE_FORCE,
    attempt: 'prelude',
  }),
  rule({
    id: 'sshd.user-locked',
    description: 'SSH login refused for a locked or otherwise barred account (the address comes from the connection)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' not allowed because ',
    pattern: re(
      String.raw`^User (?<user>\S+) not allowed because (?<reason>account is locked|not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups|shell \S+ (?:does not exist|is not executable))${PREAUTH}\s*$`,
    ),
    alert: SSH_BRUTE_FORCE,
    attempt: 'prelude',
  }),
  rule({
    id: 'sshd.root-login-refused',
    description: 'SSH root login refused (PermitRootLogin, old OpenSSH)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^(?<user>ROOT) LOGIN REFUSED FROM ${HOST}${ON_PORT}${PREAUTH}\s*$`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'each',
  }),
  rule({
    id: 'sshd.pam-error',
    description: "SSH's PAM conversation reported an authentication failure (Linux keyboard-interactive, macOS)",
    severity: 'warning',
    tags: ['auth-failure', 'ssh', 'pam'],
    programs: SSHD,
    pattern: re(
      String.raw`^(?:(?:error|fatal): )?(?:PAM: )?(?:[aA]uthentication (?:failure|error|failed)|User not known to the underlying authentication module|Maximum retries exceeded|Permission denied) for ${INVALID}(?<user>.*) from ${HOST}(?: via \S+)?${ON_PORT}${PREAUTH}\s*$`,
    ),
    alert: SSH_BRUTE_FORCE,
    attempt: 'prelude',
  }),
  rule({
    id: 'sshd.max-auth-tries',
    description: 'SSH client exceeded MaxAuthTries',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'maximum authentication attempts exceeded for ',
    pattern: re(String.raw`^(?:error: )?maximum authentication attempts exceeded for ${INVALID}(?<user>.*) from ${HOST}${ON_PORT}${PROTO}${PREAUTH}\s*$`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'connection',
  }),
  rule({
    id: 'sshd.too-many-failures',
    description: 'SSH disconnected a client after too many authentication failures',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ': Too many authentication failures',
    pattern: re(
      String.raw`^(?:(?:error|fatal): )?Disconnecting (?:from )?(?:(?:invalid|authenticating) user (?<user>.*) )?${HOST} port \d+: Too many authentication failures${PREAUTH}\s*$`,
    ),
    alert: SSH_BRUTE_FORCE,
    attempt: 'connection',
  }),
  rule({
    id: 'sshd.too-many-failures-legacy',
    description: 'SSH disconnected a client after too many authentication failures (OpenSSH before 7.5; the address comes from the connection)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'Disconnecting: Too many authentication failures',
    pattern: re(String.raw`^(?:error: |fatal: )?Disconnecting: Too many authentication failures(?: for ${INVALID}(?<user>.*?))?${PREAUTH}\s*$`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'connection',
  }),
  rule({
    id: 'sshd.change-of-user',
    description: 'SSH client tried to change the user name within one connection',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ': Change of username or service not allowed',
    // The first user name is `\S+`: the text after the colon names a second, attacker-chosen
    // user, so a name with spaces could otherwise frame an address. Such a name's attempt is
    // counted through its connection's `Invalid user` line.
    pattern: re(
      String.raw`^(?:(?:error|fatal): )?Disconnecting (?:from )?(?:invalid|authenticating) user (?<user>\S+) ${HOST}${ON_PORT}: Change of username or service not allowed: .*$`,
    ),
    alert: SSH_BRUTE_FORCE,
    attempt: 'connection',
  }),
  rule({
    id: 'sshd.closed-authenticating',
    description: 'SSH connection of a user in the middle of authenticating closed before success (not counted: its attempts have lines of their own)',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' authenticating user ',
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) authenticating user (?<user>.*) ${HOST} port \d+${PREAUTH}\s*$`),
    // fail2ban's normal mode counts no close (its F-NOFAIL): the attempts of the connection
    // were counted through their own lines; `sshModeRules('ddos')` counts closes too.
    alert: 'never',
  }),
  rule({
    id: 'sshd.closed-invalid-user',
    description: 'SSH connection for a non-existent user closed before authentication',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: ' invalid user ',
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) invalid user (?<user>.*) ${HOST} port \d+${PREAUTH}\s*$`),
    // fail2ban's normal mode counts no close (its F-NOFAIL): the attempts of the connection
    // were counted through their own lines; `sshModeRules('ddos')` counts closes too.
    alert: 'never',
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
    attempt: 'each',
  }),
  rule({
    id: 'sshd.auth-fail-disconnect',
    description: 'SSH client disconnected saying its authentication failed (JSch "Auth fail", code 3)',
    severity: 'warning',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'Received disconnect from ',
    // Disconnects other than code 11 are logged at error level, hence `error: `.
    pattern: re(String.raw`^(?:error: )?Received disconnect from ${HOST}${ON_PORT}:\s*3: .*: Auth fail${PREAUTH}\s*$`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'connection',
  }),
  rule({
    id: 'sshd.auth-disconnect',
    description: 'SSH client gave up: no authentication method left (disconnect code 14; counted in extra mode)',
    severity: 'info',
    tags: ['auth-failure', 'ssh'],
    programs: SSHD,
    prefilter: 'Received disconnect from ',
    pattern: re(String.raw`^(?:error: )?Received disconnect from ${HOST}${ON_PORT}:\s*14: .*$`),
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
    attempt: 'each',
  }),
  rule({
    id: 'sshd.accepted',
    description: 'SSH login succeeded',
    severity: 'info',
    tags: ['auth-success', 'ssh'],
    programs: SSHD,
    pattern: re(String.raw`^Accepted (?<method>\S+) for (?<user>\S+) from ${HOST}${AUTH_TAIL}$`),
    alert: 'never',
  }),
  rule({
    id: 'pam.sshd-auth-failure',
    description: "PAM authentication failure for sshd (counted through the connection's sshd lines)",
    severity: 'info',
    tags: ['auth-failure', 'pam', 'ssh'],
    programs: SSHD,
    prefilter: 'authentication failure;',
    // `sshd(pam_unix)[pid]: authentication failure; …` is the same line from 2000s Linux-PAM.
    pattern: re(String.raw`^(?:pam_[\w-]+\(sshd:auth\):\s+)?authentication failure;${PAM_ITEMS}`),
    alert: SSH_BRUTE_FORCE,
    attempt: 'unconfirmed',
  }),
  rule({
    id: 'sshd.connection',
    description: 'SSH connection opened (LogLevel VERBOSE): names the address of the lines that follow',
    severity: 'info',
    tags: ['ssh', 'ssh-connection', 'ssh-connection-open'],
    programs: SSHD,
    prefilter: 'Connection from ',
    pattern: re(String.raw`^Connection from ${HOST} port \d+(?: on \S+ port \d+)?(?: rdomain .*)?$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.closed',
    description: 'SSH connection closed without a user name: names the address of a pending failure',
    severity: 'info',
    tags: ['ssh', 'ssh-connection'],
    programs: SSHD,
    pattern: re(String.raw`^(?:Connection (?:closed|reset) by|Disconnected from) ${HOST}${ON_PORT}${PREAUTH}\s*$`),
    alert: 'never',
  }),
  rule({
    id: 'sshd.disconnect-received',
    description: 'SSH client said goodbye (disconnect code 11): names the address of a pending failure',
    severity: 'info',
    tags: ['ssh', 'ssh-connection'],
    programs: SSHD,
    prefilter: 'Received disconnect from ',
    pattern: re(String.raw`^(?:error: )?Received disconnect from ${HOST}${ON_PORT}:\s*11:.*$`),
    alert: 'never',
  }),
]);
