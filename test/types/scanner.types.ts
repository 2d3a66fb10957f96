// Type tests for the scanner part: checked by `tsc --noEmit` (npm test), never run.
import {
  FileScanner,
  Quarantine,
  extensionDetector,
  hashDetector,
  signatureDetector,
  type Detector,
  type Finding,
  type QuarantinedEvent,
  type ScanProgress,
} from '../../src/index.js';

const scanner = new FileScanner({ roots: ['/home'], detectors: [extensionDetector()] });
scanner.on('finding', (finding: Finding) => finding.path.toUpperCase());
scanner.on('progress', (p: ScanProgress) => p.filesScanned + p.bytesHashed);
scanner.on('quarantined', (e: QuarantinedEvent) => e.record.sha256);
// @ts-expect-error: unknown event names are rejected
scanner.on('found', () => {});
// @ts-expect-error: a finding is not an Alert
scanner.on('alert', (alert: Finding) => alert);
// @ts-expect-error: roots is required
new FileScanner({});
// @ts-expect-error: minSeverity is a Severity
new FileScanner({ roots: ['/'], quarantine: { into: '/q', minSeverity: 'high' } });
new FileScanner({ roots: ['/'], quarantine: { into: new Quarantine({ directory: '/q' }), minSeverity: 'warning' } });

// A user's detector is a plain object.
const custom: Detector = {
  name: 'custom',
  needs: (file) => (file.size < 10 ? { head: 10, hashes: ['sha256'] } : undefined),
  inspect: (_file, content) => (content.hashes.sha256 === 'x' ? [{ rule: 'file.custom', severity: 'info', reason: 'x' }] : []),
};
// @ts-expect-error: detectors need a name
const nameless: Detector = { inspect: () => [] };
// @ts-expect-error: findings need a valid severity
const badSeverity: Detector = { name: 'b', inspect: () => [{ rule: 'r', severity: 'fatal', reason: 'x' }] };
// @ts-expect-error: only md5, sha1 and sha256 exist
const badHash: Detector = { name: 'h', needs: () => ({ hashes: ['crc32'] }), inspect: () => [] };
void [custom, nameless, badSeverity, badHash];

hashDetector({ sha256: ['a'.repeat(64)] });
// @ts-expect-error: signatures need a severity
signatureDetector({ signatures: [{ id: 'x', pattern: 'abc' }] });
