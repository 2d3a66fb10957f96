// Builders for minimal but structurally valid executable headers and test trees.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A minimal PE image: `MZ`, e_lfanew at 0x3c, `PE\0\0` + COFF header (machine, characteristics). */
export function peImage({ dll = false, machine = 0x8664, size = 1024 } = {}): Buffer {
  const b = Buffer.alloc(size);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  b.writeUInt16LE(machine, 0x84);
  b.writeUInt16LE(dll ? 0x2102 : 0x0102, 0x80 + 22);
  return b;
}

/** `MZ` without a PE signature where e_lfanew points (e.g. a text file that starts with "MZ"). */
export function mzOnly(): Buffer {
  const b = Buffer.alloc(256, 0x20);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  return b;
}

/** A minimal 64-bit little-endian ELF header of the given e_type (2 = EXEC, 3 = DYN). */
export function elfImage(type = 2): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(0x3e, 18);
  return b;
}

/** A Mach-O header: one of the four magics (as the first 4 bytes on disk), or a fat header. */
export function machoImage(first4: number[]): Buffer {
  const b = Buffer.alloc(64);
  b.set(first4);
  return b;
}

export function fatMachO(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt32BE(2, 4);
  return b;
}

export function javaClass(): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(0xcafebabe, 0);
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(61, 6);
  return b;
}

/** A temp directory removed by the returned cleanup. */
export async function tempDir(prefix = 'hostwarden-scan-', base = tmpdir()): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(base, prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
