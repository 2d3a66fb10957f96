import { displayPath } from '../../core/text.js';

/** What the first bytes of a file say it is. @internal */
export type ExecutableFormat =
  | { readonly format: 'pe'; readonly dll: boolean; readonly machine: string }
  | {
      readonly format: 'elf';
      readonly type: 'executable' | 'shared object' | 'relocatable' | 'core' | 'unknown';
      readonly bits: 32 | 64;
      /** A position-independent executable: ET_DYN with a program interpreter (what `file` calls "pie executable"). */
      readonly pie?: true;
    }
  | { readonly format: 'macho'; readonly fat: boolean; readonly bits: 32 | 64 | undefined }
  | { readonly format: 'script'; readonly interpreter: string };

/** How many bytes {@link identifyExecutable} wants to see (a PE header is usually within the first KiB). @internal */
export const MAGIC_HEAD = 4096;

/** Whether the bytes start with `MZ`, and whether `e_lfanew` points at a `PE\0\0` signature. @internal */
export function isPeImage(head: Uint8Array): { mz: boolean; pe: boolean; peOffset: number } {
  const mz = head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a;
  if (!mz || head.length < 0x40) return { mz, pe: false, peOffset: -1 };
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const peOffset = view.getUint32(0x3c, true);
  const pe = peOffset >= 0x40 && peOffset + 24 <= head.length && head[peOffset] === 0x50 && head[peOffset + 1] === 0x45 && head[peOffset + 2] === 0 && head[peOffset + 3] === 0;
  return { mz, pe, peOffset };
}

const MACHINES: Readonly<Record<number, string>> = { 0x14c: 'x86', 0x8664: 'x86-64', 0x1c0: 'ARM', 0xaa64: 'ARM64', 0x200: 'IA-64' };

/**
 * Identifies PE (`MZ` + `PE\0\0` at `e_lfanew`), ELF, Mach-O (32/64-bit, both byte
 * orders, universal/fat) and `#!` scripts from a file's first bytes.
 *
 * @internal
 */
export function identifyExecutable(head: Uint8Array): ExecutableFormat | undefined {
  if (head.length < 4) return identifyScript(head);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const pe = isPeImage(head);
  if (pe.pe) {
    const machine = view.getUint16(pe.peOffset + 4, true);
    const characteristics = view.getUint16(pe.peOffset + 22, true);
    return { format: 'pe', dll: (characteristics & 0x2000) !== 0, machine: MACHINES[machine] ?? `machine 0x${machine.toString(16)}` };
  }
  const magic = view.getUint32(0, false);
  if (magic === 0x7f454c46 && head.length >= 18) {
    const little = head[5] !== 2;
    const type = view.getUint16(16, little);
    const types = { 1: 'relocatable', 2: 'executable', 3: 'shared object', 4: 'core' } as const;
    const bits = head[4] === 2 ? 64 : 32;
    // Most executables today are PIE: ET_DYN like a library, told apart by a PT_INTERP header.
    if (type === 3 && hasInterpreter(view, bits, little)) return { format: 'elf', type: 'executable', bits, pie: true };
    return { format: 'elf', type: types[type as 1 | 2 | 3 | 4] ?? 'unknown', bits };
  }
  if (magic === 0xfeedface || magic === 0xcefaedfe) return { format: 'macho', fat: false, bits: 32 };
  if (magic === 0xfeedfacf || magic === 0xcffaedfe) return { format: 'macho', fat: false, bits: 64 };
  if ((magic === 0xcafebabe || magic === 0xcafebabf) && head.length >= 8) {
    // Java class files share 0xCAFEBABE; their next word is a version >= 45, while a
    // universal binary's is its (small) number of architectures.
    const count = view.getUint32(4, false);
    if (count >= 1 && count < 20) return { format: 'macho', fat: true, bits: undefined };
  }
  return identifyScript(head);
}

const PT_INTERP = 3;

// Whether the program headers (when they lie within the bytes read) include PT_INTERP.
function hasInterpreter(view: DataView, bits: 32 | 64, little: boolean): boolean {
  const wide = bits === 64;
  if (view.byteLength < (wide ? 64 : 52)) return false;
  const phoff = wide ? Number(view.getBigUint64(32, little)) : view.getUint32(28, little);
  const phentsize = view.getUint16(wide ? 54 : 42, little);
  const phnum = view.getUint16(wide ? 56 : 44, little);
  if (phentsize < 4) return false;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > view.byteLength) return false;
    if (view.getUint32(at, little) === PT_INTERP) return true;
  }
  return false;
}

function identifyScript(head: Uint8Array): ExecutableFormat | undefined {
  if (head.length < 3 || head[0] !== 0x23 || head[1] !== 0x21) return undefined;
  let end = 2;
  while (end < head.length && end < 256 && head[end] !== 0x0a && head[end] !== 0x0d) end++;
  // The interpreter line is attacker-controlled: keep printable ASCII only.
  const line = displayPath(head.subarray(2, end), { max: 200 }).trim();
  if (line.length === 0 || !/^[/\w.-]/.test(line)) return undefined;
  return { format: 'script', interpreter: line.slice(0, 100) };
}
