import { safeText } from '../../core/text.js';
import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../core/errors.js';
import type { Severity } from '../../core/severity.js';
import { expectSeverity } from '../../core/validate.js';
import type { Detector, DetectorFinding, HashAlgorithm, ScannedFile } from '../types.js';
import { readHashDatabase, type HashSignature } from './clamav-db.js';

/** Options of {@link hashDetector}. */
export interface HashDetectorOptions {
  /** ClamAV hash databases (`.hdb`, `.hsb`, `.hdu`, `.hsu`), read when a scan starts. */
  readonly files?: readonly string[];
  /** SHA-256 digests (hex) to block, at any size. */
  readonly sha256?: readonly string[];
  /** MD5 digests (hex) to block, at any size. */
  readonly md5?: readonly string[];
  /** Signatures given as objects (e.g. with sizes, from your own feed). */
  readonly signatures?: readonly HashSignature[];
  /**
   * Severity of a match.
   * @defaultValue `'critical'`
   */
  readonly severity?: Severity;
}

type Table = Map<HashAlgorithm, Map<string, string>>;

/** The signatures, indexed so a file's size alone tells which digests (if any) to compute. */
class HashIndex {
  readonly bySize = new Map<number, Table>();
  readonly anySize: Table = new Map();
  count = 0;

  add(signature: HashSignature): void {
    let table = this.anySize;
    if (signature.size !== undefined) {
      table = this.bySize.get(signature.size) ?? (new Map() as Table);
      this.bySize.set(signature.size, table);
    }
    let names = table.get(signature.algorithm);
    if (!names) table.set(signature.algorithm, (names = new Map<string, string>()));
    if (!names.has(signature.hash)) this.count++;
    names.set(signature.hash, signature.name);
  }

  algorithmsFor(size: number): HashAlgorithm[] | undefined {
    const sized = this.bySize.get(size);
    if (!sized && this.anySize.size === 0) return undefined;
    const set = new Set<HashAlgorithm>(this.anySize.keys());
    if (sized) for (const a of sized.keys()) set.add(a);
    return [...set];
  }

  lookup(size: number, algorithm: HashAlgorithm, hash: string): string | undefined {
    return this.bySize.get(size)?.get(algorithm)?.get(hash) ?? this.anySize.get(algorithm)?.get(hash);
  }
}

/**
 * Blocklist matching on content digests, ClamAV-compatible. Signatures come from ClamAV
 * hash databases (`hash:size:name`, `hash:*:name:73`; MD5, SHA-1 or SHA-256 by length)
 * and from the options. Signatures are indexed by size: a file whose size matches no sized
 * signature is never read, unless size-less (`*`) signatures exist, which make every file
 * need hashing. Digests are computed once per file in the scanner's worker threads,
 * shared with every other detector.
 *
 * @throws {@link InvalidOptionError} for a malformed digest in `sha256`/`md5`.
 * @example
 * const scanner = new FileScanner({
 *   roots: ['/home'],
 *   detectors: [extensionDetector(), executableDetector(), hashDetector({ files: ['/var/lib/clamav/custom.hsb'] })],
 * });
 */
export function hashDetector(options: HashDetectorOptions = {}): Detector {
  const files = [...(options.files ?? [])];
  files.forEach((f, i) => {
    if (typeof f !== 'string' || f.length === 0) throw new InvalidOptionError(`files[${i}]`, f, 'a path to a ClamAV .hdb/.hsb file');
  });
  const severity = options.severity === undefined ? 'critical' : expectSeverity('severity', options.severity);
  const inline: HashSignature[] = [];
  for (const [option, algorithm, length] of [
    ['sha256', 'sha256', 64],
    ['md5', 'md5', 32],
  ] as const) {
    (options[option] ?? []).forEach((hash, i) => {
      if (typeof hash !== 'string' || hash.length !== length || !/^[0-9a-fA-F]+$/.test(hash)) {
        throw new InvalidOptionError(`${option}[${i}]`, hash, `${length} hex digits`);
      }
      inline.push({ algorithm, hash: hash.toLowerCase(), size: undefined, name: `${algorithm}:${hash.toLowerCase()}` });
    });
  }
  (options.signatures ?? []).forEach((s, i) => {
    const ok =
      typeof s === 'object' &&
      s !== null &&
      ['md5', 'sha1', 'sha256'].includes(s.algorithm) &&
      typeof s.hash === 'string' &&
      /^[0-9a-fA-F]+$/.test(s.hash) &&
      (s.size === undefined || (Number.isSafeInteger(s.size) && s.size >= 0)) &&
      typeof s.name === 'string';
    if (!ok) throw new InvalidOptionError(`signatures[${i}]`, s, 'a { algorithm, hash, size?, name } signature');
    inline.push({ ...s, hash: s.hash.toLowerCase() });
  });
  if (files.length === 0 && inline.length === 0) {
    throw new InvalidOptionError('files', options.files, 'at least one database file or digest (files, sha256, md5 or signatures)');
  }

  const inlineFingerprint = createHash('sha256').update(JSON.stringify(inline)).digest('hex');
  let index = new HashIndex();
  for (const s of inline) index.add(s);
  let fingerprint = `hash:${inlineFingerprint}`;

  return {
    name: 'hash',
    get fingerprint() {
      return fingerprint;
    },
    async prepare(signal: AbortSignal): Promise<void> {
      if (files.length === 0) return;
      // Re-read on every scan so an updated database takes effect without a new detector.
      const next = new HashIndex();
      for (const s of inline) next.add(s);
      const digests: string[] = [];
      for (const file of files) {
        signal.throwIfAborted();
        digests.push(await readHashDatabase(file, (s) => next.add(s)));
      }
      index = next;
      fingerprint = `hash:${inlineFingerprint}:${digests.join(',')}`;
    },
    needs(file: ScannedFile) {
      const hashes = index.algorithmsFor(file.size);
      return hashes ? { hashes } : undefined;
    },
    inspect(file: ScannedFile, content): DetectorFinding[] {
      for (const [algorithm, hash] of Object.entries(content.hashes) as [HashAlgorithm, string][]) {
        const name = index.lookup(file.size, algorithm, hash);
        if (name !== undefined) {
          const shown = safeText(name, { singleLine: true, max: 200 });
          return [{ rule: 'file.hash-match', severity, reason: `matches hash signature ${shown} (${algorithm})`, labels: { signature: shown, algorithm } }];
        }
      }
      return [];
    },
  } satisfies Detector;
}
