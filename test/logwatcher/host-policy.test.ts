// The host-extraction policy (docs/logwatcher-rules.md), enforced for every rule that
// captures a host: attacker-chosen text in the user name, the key ID or the client's own
// message can neither move the reported address nor (except where listed) hide it. Lines are
// fed through a RuleEngine after the lines OpenSSH writes before them on the same
// connection, as they arrive in a real log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authRules, RuleEngine, sshModeRules, sshProbeRules, type LogRule } from '../../src/index.js';

const REAL = '203.0.113.9';
const FAKE = '10.9.9.9';

/** Attacker text, for a user name, a key ID or a client message. */
const INJECTIONS: Record<string, string> = {
  'from-port-ssh2': `x from ${FAKE} port 22 ssh2`,
  'from-port-ssh2-keyinfo': `x from ${FAKE} port 22 ssh2: RSA SHA256:abc`,
  rhost: `x rhost=${FAKE}`,
  'rhost-user': `x rhost=${FAKE} user=root`,
  spaces: 'a b  c',
  unicode: 'ü日本\u202eexe.txt',
  'closed-tail': `x ${FAKE} port 22 [preauth]`,
  'too-many-tail': `x ${FAKE} port 22: Too many authentication failures`,
  'not-allowed-tail': `x from ${FAKE} not allowed because listed in DenyUsers`,
  via: `x from ${FAKE} via ${FAKE}`,
  'auth-fail-tail': `x: ${FAKE}: Auth fail`,
  '64KiB': `x from ${FAKE} port 22 ssh2 `.repeat(2500),
};

interface Template {
  /** The line, with the attacker text in its place. */
  readonly line: (attacker: string) => string;
  /** Lines sshd writes earlier on the same connection (pid 777). */
  readonly before?: (attacker: string) => string[];
  /** Injections after which the rule may match nothing (never a wrong host), and why. */
  readonly mayHide?: (attacker: string) => string | undefined;
}

const P = 'Mar  3 00:17:22 web1 sshd[777]: ';
const certInfo = (id: string): string => `ED25519-CERT SHA256:abc ID ${id} (serial 1) CA ED25519 SHA256:def`;
const invalidFirst = (u: string): string[] => [`${P}Invalid user ${u} from ${REAL} port 4242`];
const colonHides = (u: string): string | undefined => (u.includes(':') && u.includes(' ') ? 'a name with spaces and a colon: counted through its Invalid user line' : undefined);
const rhostHides = (u: string): string | undefined => (u.includes('rhost=') ? 'PAM items with a second rhost= read two ways: no address rather than a forged one' : undefined);
const spaceHides = (u: string): string | undefined => (/\s/.test(u) ? 'the first user name is \\S+ (the tail names a second, attacker-chosen one)' : undefined);

/** Per rule: templates that put attacker text where the real line has it. */
const TEMPLATES: Record<string, readonly Template[]> = {
  'sshd.failed-auth': [
    { line: (u) => `${P}Failed password for invalid user ${u} from ${REAL} port 4242 ssh2`, before: invalidFirst, mayHide: colonHides },
    { line: (k) => `${P}Failed hostbased for root from ${REAL} port 4242 ssh2: RSA SHA256:abc, client user "${k}", client host "h"` },
    { line: (u) => `${P}Failed keyboard-interactive/pam for invalid user ${u} from ${REAL} port 4242 ssh2`, before: invalidFirst, mayHide: colonHides },
  ],
  'sshd.failed-publickey-invalid-user': [
    { line: (u) => `${P}Failed publickey for invalid user ${u} from ${REAL} port 4242 ssh2: ${certInfo('k')}`, before: invalidFirst, mayHide: colonHides },
    { line: (k) => `${P}Failed publickey for invalid user bob from ${REAL} port 4242 ssh2: ${certInfo(k)}`, before: () => invalidFirst('bob') },
  ],
  'sshd.failed-publickey': [{ line: (k) => `${P}Failed publickey for root from ${REAL} port 4242 ssh2: ${certInfo(k)}` }],
  'sshd.accepted': [{ line: (k) => `${P}Accepted publickey for root from ${REAL} port 4242 ssh2: ${certInfo(k)}` }],
  'sshd.invalid-user': [{ line: (u) => `${P}Invalid user ${u} from ${REAL} port 4242` }],
  'sshd.user-not-allowed': [{ line: (u) => `${P}User ${u} from ${REAL} not allowed because listed in DenyUsers` }],
  'sshd.root-login-refused': [{ line: () => `${P}ROOT LOGIN REFUSED FROM ::ffff:${REAL} port 4242` }],
  'sshd.pam-error': [{ line: (u) => `${P}error: PAM: Authentication failure for illegal user ${u} from ${REAL}` }],
  'sshd.max-auth-tries': [{ line: (u) => `${P}error: maximum authentication attempts exceeded for invalid user ${u} from ${REAL} port 4242 ssh2 [preauth]` }],
  'sshd.too-many-failures': [{ line: (u) => `${P}Disconnecting invalid user ${u} ${REAL} port 4242: Too many authentication failures [preauth]` }],
  'sshd.change-of-user': [
    {
      line: (u) => `${P}Disconnecting invalid user ${u} ${REAL} port 4242: Change of username or service not allowed: (${u},ssh-connection) -> (root,ssh-connection) [preauth]`,
      mayHide: spaceHides,
    },
    { line: (k) => `${P}Disconnecting invalid user guest ${REAL} port 4242: Change of username or service not allowed: (guest,ssh-connection) -> (${k},ssh-connection) [preauth]` },
  ],
  'sshd.closed-authenticating': [{ line: (u) => `${P}Connection closed by authenticating user ${u} ${REAL} port 4242 [preauth]` }],
  'sshd.closed-invalid-user': [{ line: (u) => `${P}Connection closed by invalid user ${u} ${REAL} port 4242 [preauth]` }],
  'sshd.penalty': [{ line: () => `${P}drop connection #3 from [${REAL}]:4242 on [192.0.2.1]:22 penalty: failed authentication` }],
  'sshd.auth-fail-disconnect': [{ line: (k) => `${P}error: Received disconnect from ${REAL} port 4242:3: ${k}: Auth fail [preauth]` }],
  'sshd.auth-disconnect': [{ line: (k) => `${P}Received disconnect from ${REAL} port 4242:14: ${k} [preauth]` }],
  'sshd.disconnect-received': [{ line: (k) => `${P}Received disconnect from ${REAL} port 4242:11: ${k} [preauth]` }],
  'tcpd.refused': [{ line: () => `${P}refused connect from evil.example (${REAL})` }],
  'sshd.connection': [{ line: () => `${P}Connection from ${REAL} port 4242 on 192.0.2.1 port 22 rdomain ""` }],
  'sshd.closed': [{ line: () => `${P}Connection closed by ${REAL} port 4242 [preauth]` }],
  'pam.sshd-auth-failure': [
    { line: (u) => `${P}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser=${u} rhost=${REAL}  user=root`, mayHide: rhostHides },
    { line: (u) => `${P}pam_sss(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${REAL} user=${u}`, mayHide: rhostHides },
  ],
  'pam.auth-failure': [
    {
      line: (u) => `Mar  3 00:17:22 mail dovecot[55]: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=${u} rhost=${REAL}`,
      mayHide: rhostHides,
    },
    {
      line: (u) => `Mar  3 00:17:22 ftp vsftpd[56]: pam_sss(vsftpd:auth): authentication failure; logname= uid=0 euid=0 tty=ftp ruser= rhost=${REAL} user=${u}`,
      mayHide: rhostHides,
    },
  ],
  'pam.more-failures': [{ line: (u) => `${P}PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser=${u} rhost=${REAL}`, mayHide: rhostHides }],
  'login.failed': [{ line: (u) => `Mar  3 00:17:22 tty1 login[88]: FAILED LOGIN 1 FROM ${REAL} FOR ${u.replaceAll("'", '').replaceAll(',', '')}, Authentication failure` }],
  'sshd.ddos.no-identification': [{ line: () => `${P}Did not receive identification string from ${REAL} port 4242` }],
  'sshd.ddos.bad-protocol': [{ line: (k) => `${P}Bad protocol version identification '${k}' from ${REAL} port 4242` }],
  'sshd.ddos.bad-banner': [{ line: () => `${P}banner exchange: Connection from ${REAL} port 4242: invalid format` }],
  'sshd.ddos.preauth-close': [{ line: () => `${P}Connection reset by ${REAL} port 4242 [preauth]` }],
  'sshd.ddos.preauth-close-user': [{ line: (u) => `${P}Connection closed by authenticating user ${u} ${REAL} port 4242 [preauth]` }],
  'sshd.ddos.server-log': [{ line: (k) => `${P}SSH: Server;Ltype: Version;Remote: ${REAL}-4242;Protocol: 2.0;Client: ${k}` }],
  'sshd.extra.no-auth-methods': [{ line: () => `${P}Received disconnect from ${REAL} port 4242:14: No supported authentication methods available [preauth]` }],
  'sshd.extra.negotiation-failed': [{ line: (k) => `${P}Unable to negotiate with ${REAL} port 4242: no matching cipher found. Their offer: ${k} [preauth]` }],
  'sshd.no-identification': [{ line: () => `${P}Did not receive identification string from ${REAL} port 4242` }],
  'sshd.bad-banner': [{ line: (k) => `${P}banner exchange: Connection from ${REAL} port 4242: ${k}` }],
  'sshd.bad-protocol': [{ line: (k) => `${P}Bad protocol version identification '${k}' from ${REAL} port 4242` }],
  'sshd.negotiation-failed': [{ line: (k) => `${P}Unable to negotiate with ${REAL} port 4242: no matching cipher found. Their offer: ${k} [preauth]` }],
  'sshd.preauth-close': [{ line: () => `${P}Connection closed by ${REAL} port 4242 [preauth]` }],
  'sshd.grace-timeout': [{ line: () => `${P}fatal: Timeout before authentication for ${REAL} port 4242` }],
};

const all = new Map<string, LogRule>();
for (const rule of [...authRules, ...sshModeRules('aggressive'), ...sshProbeRules]) all.set(rule.id, rule);
const capturing = [...all.values()].filter((r) => r.pattern.source.includes('(?<host>'));

describe('host-extraction policy', () => {
  it('every rule that captures a host has adversarial templates', () => {
    assert.deepEqual(
      capturing.map((r) => r.id).filter((id) => TEMPLATES[id] === undefined),
      [],
    );
  });

  for (const rule of capturing) {
    const rules = [...new Set([rule, ...(all.get('sshd.invalid-user') ? [all.get('sshd.invalid-user') as LogRule] : [])])];
    it(`${rule.id}: attacker text neither moves nor hides the address`, () => {
      for (const template of TEMPLATES[rule.id] ?? []) {
        for (const [name, attacker] of Object.entries(INJECTIONS)) {
          const engine = new RuleEngine({ rules, hostname: 'h', year: 2024 });
          (template.before?.(attacker) ?? []).forEach((line, i) => engine.handle(line, { file: 'f', lineNumber: i + 1 }));
          const line = template.line(attacker);
          const { matches, attempts } = engine.handle(line, { file: 'f', lineNumber: 100 });
          const own = matches.filter((m) => m.rule === rule);
          for (const m of [...own, ...attempts]) assert.equal(m.fields.host, REAL, `${rule.id} / ${name}: ${line.slice(0, 200)}`);
          if (own.length === 0) {
            const why = template.mayHide?.(attacker);
            assert.ok(why !== undefined, `${rule.id} / ${name} hid the attempt: ${line.slice(0, 200)}`);
          }
        }
      }
    });
  }
});
