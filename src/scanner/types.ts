import type { Severity } from '../core/severity.js';
import type { Warning } from '../core/warning.js';

/** What kind of directory entry a {@link ScannedFile} is; only `'file'` is ever opened. */
export type EntryKind = 'file' | 'symlink' | 'fifo' | 'socket' | 'block-device' | 'character-device' | 'unknown';

/** The digests a detector can ask for; each is computed once per file, whoever asks. */
export type HashAlgorithm = 'md5' | 'sha1' | 'sha256';

/**
 * One entry the scanner met, described from its `lstat` (a symlink is described, never
 * followed). Detectors receive it before any content is read.
 */
export interface ScannedFile {
  /**
   * Absolute path as found by the walk (not resolved through symlinks). For a name that
   * is not valid UTF-8 this is its lossy decoding and {@link ScannedFile.rawPath} is exact.
   */
  readonly path: string;
  /** The exact bytes of the path, present only when they are not valid UTF-8. */
  readonly rawPath?: Buffer;
  /** The path relative to the root it was found under. */
  readonly relativePath: string;
  /** The last path component. */
  readonly name: string;
  /** What the entry is. */
  readonly kind: EntryKind;
  /** Size in bytes from `lstat` (for a symlink, the length of its target string). */
  readonly size: number;
  /** Device id from `lstat`. */
  readonly dev: number;
  /** Inode number from `lstat`. */
  readonly ino: number;
  /** Full `st_mode` (type and permission bits). */
  readonly mode: number;
  /** Owner's user id. */
  readonly uid: number;
  /** Owner's group id. */
  readonly gid: number;
  /** Modification time in ms since the epoch (fractional). */
  readonly mtimeMs: number;
  /** Status change time in ms since the epoch (fractional). */
  readonly ctimeMs: number;
}

/**
 * A byte or text pattern a detector wants searched in file contents. The scanner
 * searches every pattern of every detector in one pass over the file, in bounded
 * memory, across chunk boundaries.
 */
export interface ContentPattern {
  /** Identifies the pattern in {@link FileContent.matches}; unique within a detector. */
  readonly id: string;
  /**
   * A string (matched as its UTF-8 bytes), raw bytes, or a RegExp run over the content
   * decoded as latin1 (one char per byte, so offsets are byte offsets). A RegExp match
   * longer than the scanner's `regexOverlap` may be missed when it straddles two chunks.
   */
  readonly pattern: string | Uint8Array | RegExp;
}

/**
 * What a detector needs to see of one regular file. The scanner merges every detector's
 * needs and reads the file once: the longest head, every digest, every pattern.
 */
export interface ContentNeeds {
  /** Bytes from the start of the file (magic numbers); at most the scanner's `chunkSize`. */
  readonly head?: number;
  /** Digests of the whole content. */
  readonly hashes?: readonly HashAlgorithm[];
  /** Patterns to search in the whole content. */
  readonly patterns?: readonly ContentPattern[];
}

/** A pattern found in a file: which one, and where its first occurrence starts. */
export interface PatternMatch {
  /** The {@link ContentPattern.id}. */
  readonly id: string;
  /** Byte offset of the first occurrence. */
  readonly offset: number;
}

/** What the scanner read of a file for a detector (empty when nothing was read). */
export interface FileContent {
  /** The first bytes, as many as the most demanding detector asked for (or the whole file if shorter). */
  readonly head: Uint8Array;
  /** Lower-case hex digests that some detector asked for. */
  readonly hashes: Readonly<Partial<Record<HashAlgorithm, string>>>;
  /** The first occurrence of every pattern that was found (of this detector's patterns only). */
  readonly matches: readonly PatternMatch[];
  /** Whether the full content was read (false for a file over `maxFileSize`, or one needing only its head). */
  readonly complete: boolean;
}

/** What a detector reports about one file; the scanner turns it into a {@link Finding}. */
export interface DetectorFinding {
  /** The alert rule, e.g. `file.hash-match`, `file.executable`. */
  readonly rule: string;
  /** How bad it is. */
  readonly severity: Severity;
  /** One human line, e.g. `PE executable named .pdf`. Must not contain the path. */
  readonly reason: string;
  /** Extra Alertmanager-style labels, e.g. `{ signature: 'Win.Test.EICAR_HDB-1' }`. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A detector: a plain object. The scanner calls `needs(file)` with metadata only
 * (return `undefined` to read nothing), reads what all detectors asked for in one
 * pass, then calls `inspect(file, content)`.
 *
 * @example
 * const worldWritableScript: Detector = {
 *   name: 'world-writable-script',
 *   needs: (file) => (file.kind === 'file' && (file.mode & 0o002) !== 0 ? { head: 2 } : undefined),
 *   inspect: (file, content) =>
 *     content.head[0] === 0x23 && content.head[1] === 0x21
 *       ? [{ rule: 'file.world-writable-script', severity: 'warning', reason: 'world-writable script' }]
 *       : [],
 * };
 */
export interface Detector {
  /** Short name, shown in findings (`extension`, `executable`, `hash`, `signature`). */
  readonly name: string;
  /**
   * Identifies the detector's configuration (e.g. a digest of its signature list). The
   * incremental cache is thrown away when any detector's fingerprint changes.
   */
  readonly fingerprint?: string;
  /** Loads what the detector needs before a scan (e.g. signature databases). */
  prepare?(signal: AbortSignal): Promise<void>;
  /** What to read of a regular file; not called for other kinds of entries. */
  needs?(file: ScannedFile): ContentNeeds | undefined;
  /** Judges the entry; for entries other than regular files, `content` is empty. */
  inspect(file: ScannedFile, content: FileContent): readonly DetectorFinding[] | Promise<readonly DetectorFinding[]>;
}

/** One suspicious file, as emitted in `'finding'` and listed in {@link ScanReport.findings}. */
export interface Finding {
  /**
   * The exact path, as the file system has it: pass this to `Quarantine.isolate()`.
   * It may hold control characters or bidi overrides: never print it raw, show
   * {@link Finding.displayPath} instead. For a name that is not valid UTF-8 this is its
   * lossy decoding (U+FFFD) and {@link Finding.rawPath} holds the exact bytes.
   */
  readonly path: string;
  /** The exact bytes of the path, present only when they are not valid UTF-8: act on these. */
  readonly rawPath?: Buffer;
  /**
   * The path for humans: control characters, bidi overrides, backslashes and bytes that
   * are not UTF-8 escaped (`\xNN`, `\u{NNNN}`, `\\`, so the rendering is unambiguous), cut
   * at 4096 characters.
   * Alerts, warnings and logs use it.
   */
  readonly displayPath: string;
  /** The detector's name. */
  readonly detector: string;
  /** The rule, e.g. `file.hash-match`. */
  readonly rule: string;
  /** How bad it is. */
  readonly severity: Severity;
  /** Why, in one line, e.g. `PE executable named .pdf`. */
  readonly reason: string;
  /** Size in bytes. */
  readonly size: number;
  /** The content's SHA-256, when it was computed. */
  readonly sha256?: string;
  /** Device id of the file found (with `ino` and `ctimeMs`, what makes this finding an event of its own). */
  readonly dev: number;
  /** Inode number of the file found. */
  readonly ino: number;
  /** Status-change time of the file found (ms); a file planted again has a new one. */
  readonly ctimeMs: number;
  /** Extra labels from the detector. */
  readonly labels: Readonly<Record<string, string>>;
}

/** Why a path was not (fully) scanned. */
export type SkipReason = 'too-large' | 'unreadable' | 'vanished' | 'changed' | 'special-file' | 'other-filesystem' | 'loop' | 'scan-failed';

/** A path the scan did not (fully) look at, and why. */
export interface SkippedPath {
  /** The exact path (lossy when {@link SkippedPath.rawPath} is set); never print it raw. */
  readonly path: string;
  /** The exact bytes of a path that is not valid UTF-8. */
  readonly rawPath?: Buffer;
  /** The path escaped for people. */
  readonly displayPath: string;
  /** Why. */
  readonly reason: SkipReason;
  /** Details, e.g. the errno or the size. */
  readonly detail: string;
}

/**
 * Payload of the scanner's `'warning'` event: the core {@link Warning} shape, whose `code`
 * is a skip reason or `quarantine-failed`, with the exact `path` (and `rawPath`) and an
 * escaped `displayPath`.
 */
export interface ScanWarning extends Warning {
  /**
   * What went wrong: the same reasons as skipped paths, plus `quarantine-failed` and
   * `cache-failed` (the incremental cache could not be read or written: everything is read).
   */
  readonly code: SkipReason | 'quarantine-failed' | 'cache-failed';
  /** The exact path (lossy when `rawPath` is set). */
  readonly path: string;
  /** The path escaped for people. */
  readonly displayPath: string;
}

/** Payload of the `'progress'` event (throttled) — counters since the scan started. */
export interface ScanProgress {
  /** Regular files whose inspection finished. */
  readonly filesScanned: number;
  /** Sum of the sizes of those files. */
  readonly bytesScanned: number;
  /** Bytes actually read to hash or search (the rest was judged from name, size and head). */
  readonly bytesHashed: number;
  /** Findings so far. */
  readonly findings: number;
  /** Skipped paths so far. */
  readonly skipped: number;
  /** Files skipped because the incremental cache showed them unchanged. */
  readonly cached: number;
  /** The last path looked at (escaped), if any. */
  readonly currentPath?: string;
}

/** What {@link FileScanner.scan} resolves to. */
export interface ScanReport {
  /** The roots that were scanned (resolved). */
  readonly roots: readonly string[];
  /** Regular files inspected (including those judged unchanged by the cache). */
  readonly filesScanned: number;
  /** Sum of their sizes. */
  readonly bytesScanned: number;
  /** Bytes read in full to hash or search. */
  readonly bytesHashed: number;
  /** Directories walked. */
  readonly directories: number;
  /** Symbolic links met (judged by name only, never followed). */
  readonly symlinks: number;
  /** Files skipped because the incremental cache showed them unchanged and clean. */
  readonly cached: number;
  /** The findings in the order they were found, at most `maxReportedFindings` of them. */
  readonly findings: readonly Finding[];
  /** How many findings there were in all (may exceed `findings.length`). */
  readonly findingCount: number;
  /** Skipped paths with reasons, at most `maxReportedSkips` of them. */
  readonly skipped: readonly SkippedPath[];
  /** How many paths were skipped in all (may exceed `skipped.length`). */
  readonly skippedCount: number;
  /** Skipped paths per reason, counted in full (the `skipped` list is capped). */
  readonly skippedByReason: Readonly<Partial<Record<SkipReason, number>>>;
  /** Files isolated into the quarantine (by id). */
  readonly quarantined: readonly string[];
  /** When the scan started. */
  readonly startedAt: Date;
  /** How long it took, in ms. */
  readonly durationMs: number;
}
