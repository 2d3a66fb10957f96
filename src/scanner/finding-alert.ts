import { createAlert, type Alert } from '../core/alert.js';
import type { Finding, SkipReason } from './types.js';

/**
 * The {@link Alert} for a finding: `source: 'file'`, the finding's rule and severity, and
 * the detector's labels plus `path`, `detector`, `inode` and `sha256`. Alerts are shown to
 * people, so they carry the finding's escaped `displayPath`; the title keeps only its end,
 * where the file name is.
 *
 * A finding is an *event*, not a condition: its key is
 * `file:<rule>:<dev>:<inode>:<ctime>:<sha256>` — what makes this file unique — so the same
 * untouched file found by two scans is one alert (deduplicated), while a file planted again
 * at the same path after quarantine (a new inode, a new ctime) is a new alert that dedup,
 * also after a restart, never hides. The path is a label, not part of the key.
 *
 * @internal
 */
export function alertForFinding(finding: Finding, time: Date): Alert {
  const shown = finding.displayPath;
  const shortPath = shown.length > 200 ? `…${shown.slice(-199)}` : shown;
  return createAlert({
    source: 'file',
    rule: finding.rule,
    severity: finding.severity,
    key: `file:${finding.rule}:${finding.dev}:${finding.ino}:${finding.ctimeMs}:${finding.sha256 ?? 'unhashed'}`,
    title: `${finding.reason}: ${shortPath}`,
    summary: [
      `File: ${shown}`,
      `Detector: ${finding.detector}`,
      `Reason: ${finding.reason}`,
      `Size: ${finding.size} bytes`,
      ...(finding.sha256 ? [`SHA-256: ${finding.sha256}`] : []),
    ].join('\n'),
    time,
    labels: { ...finding.labels, path: shown, detector: finding.detector, inode: `${finding.dev}:${finding.ino}`, ...(finding.sha256 ? { sha256: finding.sha256 } : {}) },
  });
}

/** The start of a warning's message for a skip reason. @internal */
export function skipReasonText(reason: SkipReason): string {
  switch (reason) {
    case 'too-large':
      return 'Not fully scanned (too large)';
    case 'unreadable':
      return 'Cannot read';
    case 'vanished':
      return 'Vanished during the scan';
    case 'changed':
      return 'Changed during the scan';
    case 'special-file':
      return 'Special file not opened';
    case 'other-filesystem':
      return 'Other file system not entered';
    case 'loop':
      return 'Directory loop not entered';
    case 'scan-failed':
      return 'Not scanned (the scan of this file failed)';
  }
}
