// Shared pieces of the FileWatcher tests: detectors that find the planted samples, and
// waiting driven by the watcher's own events (a timeout only turns a hang into a failure).
import { EICAR_SIGNATURE, executableDetector, extensionDetector, signatureDetector, type Finding, type FileWatcher } from '../../src/index.js';

export { peImage, tempDir } from '../scanner/samples.js';
export { EICAR_TEST_STRING } from '../../src/index.js';

/** EICAR by content, a PE by magic bytes (whatever its name says), `.exe` by name. */
export function testDetectors(): ReturnType<typeof extensionDetector>[] {
  return [extensionDetector(), executableDetector({ scripts: false }), signatureDetector({ signatures: [EICAR_SIGNATURE] })];
}

/**
 * Resolves with the findings once every path in `paths` had one. Starts listening at once
 * (call before causing the writes). Rejects after `safetyMs` with the paths still missing,
 * so a lost file fails the test instead of hanging it.
 */
export function findingsFor(watcher: FileWatcher, paths: readonly string[], safetyMs = 60_000): Promise<Map<string, Finding[]>> {
  const missing = new Set(paths);
  const found = new Map<string, Finding[]>();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      watcher.off('finding', onFinding);
      reject(new Error(`no finding within ${safetyMs} ms for ${missing.size} of ${paths.length} files, e.g. ${[...missing].slice(0, 3).join(', ')}`));
    }, safetyMs);
    const onFinding = (finding: Finding): void => {
      found.set(finding.path, [...(found.get(finding.path) ?? []), finding]);
      missing.delete(finding.path);
      if (missing.size === 0) {
        clearTimeout(timer);
        watcher.off('finding', onFinding);
        resolve(found);
      }
    };
    watcher.on('finding', onFinding);
    if (missing.size === 0) onFinding({ path: '' } as Finding);
  });
}

/** Resolves with the next `'reconciled'` report whose reason matches. */
export function nextCrawl(watcher: FileWatcher, reason?: string): Promise<import('../../src/index.js').ReconcileReport> {
  return new Promise((resolve) => {
    const on = (report: import('../../src/index.js').ReconcileReport): void => {
      if (reason !== undefined && report.reason !== reason) return;
      watcher.off('reconciled', on);
      resolve(report);
    };
    watcher.on('reconciled', on);
  });
}
