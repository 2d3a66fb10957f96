export { FileScanner, type FileScannerEvents, type QuarantinedEvent, type ScanOptions } from './file-scanner.js';
export type { FileScannerOptions, ScanCacheOptions, ScannerQuarantineOptions } from './options.js';
export type {
  ContentNeeds,
  ContentPattern,
  Detector,
  DetectorFinding,
  EntryKind,
  FileContent,
  Finding,
  HashAlgorithm,
  PatternMatch,
  ScannedFile,
  ScanProgress,
  ScanReport,
  ScanWarning,
  SkippedPath,
  SkipReason,
} from './types.js';
export { extensionDetector, type ExtensionDetectorOptions } from './detectors/extension.js';
export { executableDetector, type ExecutableDetectorOptions } from './detectors/executable.js';
export { hashDetector, type HashDetectorOptions } from './detectors/hash.js';
export { parseHashSignature, type HashSignature } from './detectors/clamav-db.js';
export { EICAR_SIGNATURE, EICAR_TEST_STRING, signatureDetector, type ContentSignature, type SignatureDetectorOptions } from './detectors/signature.js';
export {
  Quarantine,
  type IsolateExpectation,
  type IsolateOptions,
  type QuarantineOptions,
  type QuarantineRecord,
  type RecoveryReport,
  type RestoreOptions,
} from '../quarantine/index.js';
