import { createHash } from 'node:crypto';
import { InvalidOptionError } from '../../core/errors.js';
import { isSeverity, type Severity } from '../../core/severity.js';
import type { ContentPattern, Detector, DetectorFinding, ScannedFile } from '../types.js';

/** A content signature: bytes, text or a RegExp to look for inside files. */
export interface ContentSignature {
  /** The signature's name, reported in findings (e.g. `Eicar-Test-Signature`). */
  readonly id: string;
  /** Text (matched as UTF-8 bytes), raw bytes, or a RegExp over the content read as latin1. */
  readonly pattern: string | Uint8Array | RegExp;
  /** How bad a match is. */
  readonly severity: Severity;
  /** A human description for the finding's reason. */
  readonly description?: string;
}

/**
 * The EICAR anti-virus test file's content: every scanner must detect it, so it is the
 * safe way to test a deployment end to end.
 */
export const EICAR_TEST_STRING = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/**
 * A ready signature for the EICAR test file. The standard allows trailing whitespace,
 * so the 68 bytes are matched anywhere rather than as the whole file.
 */
export const EICAR_SIGNATURE: ContentSignature = Object.freeze({
  id: 'Eicar-Test-Signature',
  pattern: EICAR_TEST_STRING,
  severity: 'critical',
  description: 'EICAR anti-virus test file',
});

/** Options of {@link signatureDetector}. */
export interface SignatureDetectorOptions {
  /** The signatures to search for. */
  readonly signatures: readonly ContentSignature[];
  /**
   * Only files up to this size are searched (larger ones are left to the other detectors;
   * the scanner's own `maxFileSize` applies as well).
   * @defaultValue `Infinity`
   */
  readonly maxFileSize?: number;
}

/**
 * Searches file contents for byte, text or RegExp signatures — webshell snippets, the EICAR
 * test string, a dropper's marker. Every file is streamed once through the scanner's worker
 * threads, whatever the number of signatures, in bounded memory: the end of each chunk is
 * carried into the next, so a signature split across chunks is still found.
 *
 * @throws {@link InvalidOptionError} for an empty pattern, a duplicate id or a bad severity.
 * @example
 * const detector = signatureDetector({
 *   signatures: [EICAR_SIGNATURE, { id: 'php.eval-post', pattern: /eval\s*\(\s*\$_(POST|GET|REQUEST)/, severity: 'critical' }],
 * });
 */
export function signatureDetector(options: SignatureDetectorOptions): Detector {
  if (typeof options !== 'object' || options === null || !Array.isArray(options.signatures) || options.signatures.length === 0) {
    throw new InvalidOptionError('signatures', options?.signatures, 'a non-empty array of { id, pattern, severity }');
  }
  const maxFileSize = options.maxFileSize ?? Infinity;
  if (typeof maxFileSize !== 'number' || Number.isNaN(maxFileSize) || maxFileSize < 0) {
    throw new InvalidOptionError('maxFileSize', maxFileSize, 'a number >= 0');
  }
  const ids = new Set<string>();
  const byId = new Map<string, ContentSignature>();
  const patterns: ContentPattern[] = options.signatures.map((s: ContentSignature, i) => {
    const where = `signatures[${i}]`;
    if (typeof s !== 'object' || s === null || typeof s.id !== 'string' || s.id.length === 0) {
      throw new InvalidOptionError(`${where}.id`, s?.id, 'a non-empty string');
    }
    if (ids.has(s.id)) throw new InvalidOptionError(`${where}.id`, s.id, 'a unique id');
    ids.add(s.id);
    const p = s.pattern;
    const ok = (typeof p === 'string' && p.length > 0) || (p instanceof Uint8Array && p.length > 0) || p instanceof RegExp;
    if (!ok) throw new InvalidOptionError(`${where}.pattern`, p, 'a non-empty string, Uint8Array or RegExp');
    if (!isSeverity(s.severity)) throw new InvalidOptionError(`${where}.severity`, s.severity, "one of 'info', 'warning', 'critical'");
    byId.set(s.id, s);
    return { id: s.id, pattern: p };
  });
  const fingerprint = `signature:${createHash('sha256')
    .update(
      JSON.stringify(
        options.signatures.map((s: ContentSignature) => [s.id, s.severity, s.pattern instanceof Uint8Array ? Buffer.from(s.pattern).toString('hex') : String(s.pattern)]),
      ),
    )
    .digest('hex')}`;
  const needs = Object.freeze({ patterns });

  return Object.freeze({
    name: 'signature',
    fingerprint,
    needs: (file: ScannedFile) => (file.size > 0 && file.size <= maxFileSize ? needs : undefined),
    inspect(_file: ScannedFile, content): DetectorFinding[] {
      return content.matches.map((m) => {
        const s = byId.get(m.id) as ContentSignature;
        const what = s.description ? `${s.description} (${s.id})` : s.id;
        return { rule: 'file.signature', severity: s.severity, reason: `contains signature ${what} at byte ${m.offset}`, labels: { signature: s.id } };
      });
    },
  } satisfies Detector);
}
