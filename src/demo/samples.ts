// Harmless stand-ins for what the scanner hunts: they carry the markers detectors look
// for (magic bytes, the EICAR test string) and no code at all.
import { systemClock } from '../core/clock.js';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The EICAR anti-virus test string (eicar.org): every scanner treats it as a virus, and it
 * does nothing. It is assembled at run time so this source file itself is not flagged.
 */
export function eicarString(): string {
  return ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join('');
}

/**
 * A minimal PE header: `MZ`, `e_lfanew` at 0x3c pointing to `PE\0\0`, an x86-64 COFF
 * header with no sections. Windows would refuse to run it; detectors recognise it.
 */
export function fakePeBytes(): Buffer {
  const buf = Buffer.alloc(0x80);
  buf.write('MZ', 0, 'latin1');
  buf.writeUInt32LE(0x40, 0x3c);
  buf.write('PE\0\0', 0x40, 'latin1');
  buf.writeUInt16LE(0x8664, 0x44); // Machine: AMD64
  buf.writeUInt16LE(0, 0x46); // NumberOfSections: none, so nothing could ever load
  return buf;
}

/** A 64-bit little-endian ELF header for x86-64 with no program headers: inert. */
export function fakeElfBytes(): Buffer {
  const buf = Buffer.alloc(64);
  buf.write('\x7fELF', 0, 'latin1');
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little-endian
  buf[6] = 1; // EV_CURRENT
  buf.writeUInt16LE(2, 16); // ET_EXEC
  buf.writeUInt16LE(0x3e, 18); // x86-64
  buf.writeUInt32LE(1, 20);
  buf.writeUInt16LE(64, 52); // e_ehsize
  return buf;
}

/** One planted file of a demo tree, and what should catch it. */
export interface PlantedSample {
  /** Path relative to the tree's root. */
  readonly path: string;
  /** Why a scanner should flag it (or `null` for a clean decoy). */
  readonly expect: string | null;
}

/**
 * Writes a small home-directory-like tree: clean files, the EICAR test file, a fake PE
 * named `.pdf`, an ELF with no extension and a `.dll`. Every file is mode 0644: nothing
 * planted is executable.
 */
export async function plantDemoTree(root: string): Promise<PlantedSample[]> {
  const files: Array<[string, string | Buffer, string | null]> = [
    ['alice/notes.txt', 'Remember: rotate the backup keys on Friday.\n', null],
    ['alice/photos/cat.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]), null],
    ['alice/Downloads/eicar.com.txt', eicarString(), 'EICAR test signature'],
    ['bob/Downloads/invoice.pdf', fakePeBytes(), 'PE executable disguised as .pdf'],
    ['bob/.cache/update', fakeElfBytes(), 'ELF executable without extension'],
    ['bob/games/plugin.dll', 'not really a library\n', '.dll extension (the seed rule)'],
    ['shared/report.csv', 'host,failures\nweb-1,0\n', null],
  ];
  const planted: PlantedSample[] = [];
  for (const [rel, content, expect] of files) {
    const full = join(root, rel);
    await mkdir(join(full, '..'), { recursive: true });
    await writeFile(full, content, { mode: 0o644 });
    await chmod(full, 0o644);
    planted.push({ path: rel, expect });
  }
  return planted;
}

/** Options of {@link bruteForceLines}. */
export interface BruteForceOptions {
  /** The attacking address (a TEST-NET address by default). */
  readonly attacker?: string;
  /** Failed attempts to write. */
  readonly attempts?: number;
  /** Host name in the syslog prefix. */
  readonly hostname?: string;
  /** Time of the first line; later lines are one second apart. */
  readonly start?: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Formats a time as an RFC 3164 syslog timestamp (`Mar  3 00:17:22`), in local time as syslog does. */
export function syslogTime(time: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[time.getMonth()]} ${String(time.getDate()).padStart(2, ' ')} ${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}`;
}

/**
 * Lines of an OpenSSH auth log under a password-guessing attack: an ordinary login, then
 * failed passwords for common user names from one address, as `sshd` writes them.
 */
export function bruteForceLines(options: BruteForceOptions = {}): string[] {
  const { attacker = '203.0.113.45', attempts = 8, hostname = 'demo-host' } = options;
  const start = options.start ?? new Date(systemClock());
  const users = ['root', 'admin', 'ubuntu', 'test', 'oracle', 'postgres', 'git', 'deploy'];
  const at = (i: number): string => syslogTime(new Date(start.getTime() + i * 1000));
  const lines = [`${at(0)} ${hostname} sshd[2011]: Accepted publickey for alice from 198.51.100.7 port 50022 ssh2: ED25519 SHA256:Zm9vYmFyYmF6cXV4`];
  for (let i = 0; i < attempts; i++) {
    const user = users[i % users.length] ?? 'root';
    const pid = 3100 + i;
    const port = 40000 + i * 7;
    lines.push(
      user === 'root'
        ? `${at(i + 1)} ${hostname} sshd[${pid}]: Failed password for root from ${attacker} port ${port} ssh2`
        : `${at(i + 1)} ${hostname} sshd[${pid}]: Failed password for invalid user ${user} from ${attacker} port ${port} ssh2`,
    );
  }
  return lines;
}
