// A realistic synthetic auth.log for benchmarks: RFC 3164 lines from sshd, sshd-session,
// CRON, systemd-logind, sudo and su, with a given share of attack traffic from a large
// pool of addresses (a few heavy hitters, a long tail). Deterministic for a given seed.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { mulberry32 } from '../test/helpers/prng.js';

/** Options of {@link generateAuthLog}. */
export interface AuthLogOptions {
  readonly lines: number;
  /** Share of attack lines, 0..1. */
  readonly attackShare?: number;
  /** How many distinct attacking addresses. */
  readonly attackers?: number;
  readonly seed?: number;
  /** First timestamp (the log spans about 0.5 s per line). */
  readonly start?: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const USERS = [
  'admin',
  'test',
  'user',
  'oracle',
  'postgres',
  'ubuntu',
  'pi',
  'git',
  'ftpuser',
  'guest',
  'support',
  'deploy1',
  'hadoop',
  'mysql',
  'www',
  'tomcat',
  'nagios',
  'ansible',
  'jenkins',
  'minecraft',
];
const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * Writes `lines` lines to `path` and resolves with what it wrote.
 */
export async function generateAuthLog(path: string, options: AuthLogOptions): Promise<{ lines: number; attackLines: number; bytes: number }> {
  const rand = mulberry32(options.seed ?? 42);
  const attackShare = options.attackShare ?? 0.4;
  const pool = options.attackers ?? 20_000;
  const attackers = Array.from({ length: pool }, (_, i) =>
    i % 10 === 9
      ? `2001:db8:${i >> 8 === 0 ? '' : `${(i >> 8).toString(16)}:`}:${(i & 255).toString(16)}`
      : `${45 + (i % 150)}.${(i * 7) % 256}.${(i * 13) % 256}.${((i * 31) % 254) + 1}`,
  );
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  // A skewed choice: a few heavy hitters, a long tail.
  const attacker = (): string => attackers[Math.floor(pool * rand() ** 3)] as string;
  let t = (options.start ?? new Date(2024, 2, 1)).getTime();
  let pid = 1000;
  let session = 1;
  const out = createWriteStream(path);
  let attackLines = 0;
  let bytes = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    const text = batch.join('');
    batch = [];
    bytes += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  for (let i = 0; i < options.lines; i++) {
    t += Math.floor(rand() * 1000);
    const d = new Date(t);
    const day = d.getDate();
    const stamp = `${MONTHS[d.getMonth()]} ${day < 10 ? ` ${day}` : day} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} web1`;
    // A fresh pid per line: unrelated lines must not look like one connection (fail2ban
    // correlates lines by pid), as they would in a real log.
    pid = pid >= 4_000_000 ? 1000 : pid + 1;
    const port = 1024 + Math.floor(rand() * 64000);
    let line: string;
    if (rand() < attackShare) {
      attackLines++;
      const ip = attacker();
      const user = pick(USERS);
      const sshd = rand() < 0.2 ? `sshd-session[${pid}]` : `sshd[${pid}]`;
      const r = rand();
      if (r < 0.2) line = `${stamp} ${sshd}: Invalid user ${user} from ${ip} port ${port}`;
      else if (r < 0.4) line = `${stamp} ${sshd}: Failed password for invalid user ${user} from ${ip} port ${port} ssh2`;
      else if (r < 0.5) line = `${stamp} ${sshd}: Failed password for root from ${ip} port ${port} ssh2`;
      else if (r < 0.58) line = `${stamp} ${sshd}: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=root`;
      else if (r < 0.64) line = `${stamp} ${sshd}: Connection closed by authenticating user root ${ip} port ${port} [preauth]`;
      else if (r < 0.7) line = `${stamp} ${sshd}: Disconnected from invalid user ${user} ${ip} port ${port} [preauth]`;
      else if (r < 0.78) line = `${stamp} ${sshd}: Received disconnect from ${ip} port ${port}:11: Bye Bye [preauth]`;
      else if (r < 0.8) line = `${stamp} ${sshd}: error: maximum authentication attempts exceeded for root from ${ip} port ${port} ssh2 [preauth]`;
      else if (r < 0.82) line = `${stamp} ${sshd}: Disconnecting authenticating user root ${ip} port ${port}: Too many authentication failures [preauth]`;
      else if (r < 0.86) line = `${stamp} ${sshd}: Connection closed by ${ip} port ${port} [preauth]`;
      else if (r < 0.88) line = `${stamp} ${sshd}: pam_unix(sshd:auth): check pass; user unknown`;
      else if (r < 0.9) line = `${stamp} ${sshd}: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=root`;
      else if (r < 0.92) line = `${stamp} ${sshd}: error: kex_exchange_identification: Connection closed by remote host`;
      else if (r < 0.94) line = `${stamp} ${sshd}: Did not receive identification string from ${ip} port ${port}`;
      else if (r < 0.96)
        line = `${stamp} ${sshd}: Unable to negotiate with ${ip} port ${port}: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]`;
      else if (r < 0.98) line = `${stamp} ${sshd}: User root from ${ip} not allowed because not listed in AllowUsers`;
      else line = `${stamp} ${sshd}: Failed publickey for root from ${ip} port ${port} ssh2: RSA SHA256:3b1f0c6e9d2a7b4c5e8f1a2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3`;
    } else {
      const r = rand();
      const ip = `10.0.${Math.floor(rand() * 4)}.${1 + Math.floor(rand() * 250)}`;
      if (r < 0.3) line = `${stamp} CRON[${pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)`;
      else if (r < 0.6) line = `${stamp} CRON[${pid}]: pam_unix(cron:session): session closed for user root`;
      else if (r < 0.66) line = `${stamp} sshd[${pid}]: Accepted publickey for deploy from ${ip} port ${port} ssh2: ED25519 SHA256:q0wErTyUiOpAsDfGhJkLzXcVbNm1234567890abcdefgh`;
      else if (r < 0.72) line = `${stamp} sshd[${pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)`;
      else if (r < 0.76) line = `${stamp} systemd-logind[512]: New session ${session++} of user deploy.`;
      else if (r < 0.8) line = `${stamp} sshd[${pid}]: Received disconnect from ${ip} port ${port}:11: disconnected by user`;
      else if (r < 0.84) line = `${stamp} sshd[${pid}]: Disconnected from user deploy ${ip} port ${port}`;
      else if (r < 0.9) line = `${stamp} sudo:   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl status nginx`;
      else if (r < 0.95) line = `${stamp} sudo: pam_unix(sudo:session): session opened for user root(uid=0) by deploy(uid=1000)`;
      else line = `${stamp} systemd-logind[512]: Session ${session} logged out. Waiting for processes to exit.`;
    }
    batch.push(line, '\n');
    if (batch.length >= 16_384) await flush();
  }
  await flush();
  out.end();
  await once(out, 'close');
  return { lines: options.lines, attackLines, bytes };
}
