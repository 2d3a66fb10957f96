import type { Severity } from '../../core/severity.js';
import { expectBoolean } from '../../core/validate.js';
import type { Detector, DetectorFinding, ScannedFile } from '../types.js';
import { identifyExecutable, MAGIC_HEAD, type ExecutableFormat } from './magic.js';

/** Options of {@link executableDetector}. */
export interface ExecutableDetectorOptions {
  /**
   * Report `#!` scripts (at `info`, or `warning` when the name poses as a document or
   * image). Turn off when scanning trees full of legitimate scripts.
   * @defaultValue `true`
   */
  readonly scripts?: boolean;
}

// Names a user would open without a second thought: an executable wearing one of these
// is disguised, which is what droppers do.
const DECOYS = new Set(
  (
    'pdf doc docx docm xls xlsx xlsm ppt pptx rtf odt ods odp txt csv log md jpg jpeg png gif bmp webp svg ico tif tiff ' +
    'heic mp3 mp4 m4a wav avi mkv mov webm flac ogg zip rar 7z gz tgz tar bz2 xz iso html htm xml json css eml msg ics vcf'
  ).split(' '),
);

/**
 * Recognizes executables by their magic bytes, whatever they are named: PE (`MZ` plus a
 * `PE\0\0` signature at `e_lfanew`), ELF, Mach-O (32/64-bit, both byte orders, universal)
 * and `#!` scripts. An executable whose name poses as a document, image or archive is
 * reported as such ("PE executable named .pdf") at `critical`.
 *
 * Severity: a disguised PE, ELF or Mach-O is `critical`; a PE or Mach-O binary on a Linux
 * host is `warning`; an ELF binary is `info`; scripts are `info` (`warning` when disguised).
 *
 * @example
 * const scanner = new FileScanner({ roots: ['/srv/uploads'], detectors: [executableDetector({ scripts: false })] });
 */
export function executableDetector(options: ExecutableDetectorOptions = {}): Detector {
  const scripts = options.scripts === undefined ? true : expectBoolean('scripts', options.scripts);
  return Object.freeze({
    name: 'executable',
    fingerprint: `executable:${scripts}`,
    needs: (file: ScannedFile) => (file.size >= 4 ? { head: MAGIC_HEAD } : undefined),
    inspect(file: ScannedFile, content): DetectorFinding[] {
      if (file.kind !== 'file') return [];
      const found = identifyExecutable(content.head);
      if (!found || (found.format === 'script' && !scripts)) return [];
      const ext = extensionOf(file.name);
      const disguised = ext !== undefined && DECOYS.has(ext.slice(1));
      const [kind, detail] = describe(found);
      const reason = disguised ? `${kind} named ${ext} ${detail}` : ext === undefined ? `${kind} ${detail}, no extension` : `${kind} ${detail}`;
      return [{ rule: 'file.executable', severity: severityOf(found, disguised), reason, labels: labelsOf(found, disguised) }];
    },
  } satisfies Detector);
}

function severityOf(found: ExecutableFormat, disguised: boolean): Severity {
  switch (found.format) {
    case 'pe':
    case 'macho':
      return disguised ? 'critical' : 'warning';
    case 'elf':
      return disguised ? 'critical' : 'info';
    case 'script':
      return disguised ? 'warning' : 'info';
  }
}

// [what it is, details]: "PE executable" + "(Windows, x86-64)".
function describe(found: ExecutableFormat): [string, string] {
  switch (found.format) {
    case 'pe':
      return [`PE ${found.dll ? 'DLL' : 'executable'}`, `(Windows, ${found.machine})`];
    case 'elf':
      return [found.type === 'executable' ? 'ELF executable' : `ELF ${found.type}`, `(${found.bits}-bit${found.pie ? ', PIE' : ''})`];
    case 'macho':
      return ['Mach-O executable', found.fat ? '(universal)' : `(${found.bits}-bit)`];
    case 'script':
      return ['script', `(#!${found.interpreter})`];
  }
}

function labelsOf(found: ExecutableFormat, disguised: boolean): Record<string, string> {
  const labels: Record<string, string> = { format: found.format, disguised: String(disguised) };
  if (found.format === 'script') labels['interpreter'] = found.interpreter;
  return labels;
}

function extensionOf(name: string): string | undefined {
  const m = /\.([A-Za-z0-9]{1,5})$/.exec(name);
  return m && m.index > 0 ? `.${(m[1] as string).toLowerCase()}` : undefined;
}
