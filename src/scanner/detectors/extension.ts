import { InvalidOptionError } from '../../core/errors.js';
import type { Severity } from '../../core/severity.js';
import { expectSeverity } from '../../core/validate.js';
import type { Detector, DetectorFinding } from '../types.js';
import { isPeImage } from './magic.js';

/** Options of {@link extensionDetector}. */
export interface ExtensionDetectorOptions {
  /**
   * File-name endings to report, with or without the leading dot; compared
   * case-insensitively (`.EXE`, `setup.Exe`).
   * @defaultValue `['.exe', '.dll']`
   */
  readonly extensions?: readonly string[];
  /**
   * Severity of a match. A regular file whose content is plainly not a Windows executable
   * (no `MZ` header: a text file named `.exe`) is reported one level lower.
   * @defaultValue `'warning'`
   */
  readonly severity?: Severity;
}

const LOWER: Readonly<Record<Severity, Severity>> = { critical: 'warning', warning: 'info', info: 'info' };

/**
 * The seed's rule: reports files whose name ends in a listed extension (by default
 * `.exe` and `.dll`), case-insensitively, and says when the name hides it behind a
 * double extension (`invoice.pdf.exe`). Symlinks, FIFOs and other entries are judged by
 * their name alone; nothing behind them is read.
 *
 * @example
 * const scanner = new FileScanner({ roots: ['/home'], detectors: [extensionDetector({ extensions: ['.exe', '.scr'] })] });
 */
export function extensionDetector(options: ExtensionDetectorOptions = {}): Detector {
  const list = options.extensions ?? ['.exe', '.dll'];
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidOptionError('extensions', list, 'a non-empty array of file-name endings');
  }
  const extensions = list.map((ext, i) => {
    if (typeof ext !== 'string' || ext.replace(/^\./, '').length === 0 || ext.includes('/')) {
      throw new InvalidOptionError(`extensions[${i}]`, ext, "a file-name ending such as '.exe'");
    }
    return (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase();
  });
  const severity = options.severity === undefined ? 'warning' : expectSeverity('severity', options.severity);

  return Object.freeze({
    name: 'extension',
    fingerprint: `extension:${extensions.join(',')}:${severity}`,
    needs: (file) => (matchExtension(file.name, extensions) === undefined ? undefined : { head: 512 }),
    inspect(file, content): DetectorFinding[] {
      const ext = matchExtension(file.name, extensions);
      if (ext === undefined) return [];
      const inner = innerExtension(file.name, ext);
      const named = inner ? `named ${inner}${ext} (double extension)` : `named ${ext}`;
      if (file.kind === 'symlink') {
        return [{ rule: 'file.extension', severity, reason: `symbolic link ${named} (target not read)`, labels: { extension: ext, kind: 'symlink' } }];
      }
      if (file.kind !== 'file') {
        return [{ rule: 'file.extension', severity: LOWER[severity], reason: `${file.kind} ${named}`, labels: { extension: ext, kind: file.kind } }];
      }
      // Only a PE-style extension can be checked against the content cheaply; for the
      // others (or an unread head) the name alone decides.
      const peStyle = ext === '.exe' || ext === '.dll' || ext === '.scr' || ext === '.sys' || ext === '.cpl' || ext === '.ocx';
      if (peStyle && content.head.length > 0 && !isPeImage(content.head).mz) {
        return [{ rule: 'file.extension', severity: LOWER[severity], reason: `file ${named}, but its content is not a Windows executable`, labels: { extension: ext } }];
      }
      if (peStyle && file.size === 0) {
        return [{ rule: 'file.extension', severity: LOWER[severity], reason: `empty file ${named}`, labels: { extension: ext } }];
      }
      return [{ rule: 'file.extension', severity, reason: `file ${named}`, labels: { extension: ext } }];
    },
  } satisfies Detector);
}

function matchExtension(name: string, extensions: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  return extensions.find((ext) => lower.endsWith(ext));
}

// `invoice.pdf.exe` -> `.pdf`: the trick of showing a harmless type before the real one.
function innerExtension(name: string, ext: string): string | undefined {
  const stem = name.slice(0, name.length - ext.length);
  const m = /\.([A-Za-z0-9]{1,5})$/.exec(stem);
  return m && m.index > 0 ? `.${m[1]?.toLowerCase()}` : undefined;
}
