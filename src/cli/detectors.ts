import { executableDetector } from '../scanner/detectors/executable.js';
import { extensionDetector } from '../scanner/detectors/extension.js';
import { hashDetector } from '../scanner/detectors/hash.js';
import { EICAR_SIGNATURE, signatureDetector } from '../scanner/detectors/signature.js';
import type { Detector } from '../scanner/types.js';

/** What the CLI, the config and the demo ask of the detectors. */
export interface DetectorChoice {
  /** Extensions for the extension detector (the seed's `.exe`, `.dll` when absent). */
  readonly extensions?: readonly string[] | undefined;
  /** ClamAV `.hsb`/`.hdb` databases for the hash detector. */
  readonly hashDb?: readonly string[] | undefined;
  /** Report `#!` scripts. @defaultValue `true` */
  readonly scripts?: boolean | undefined;
}

/**
 * The detector set the command line uses: the seed's extension rule, magic bytes, the
 * EICAR signature (so a scanner's installation can be tested as with any anti-virus),
 * and hash databases when given.
 */
export function cliDetectors(choice: DetectorChoice = {}): Detector[] {
  const detectors: Detector[] = [
    extensionDetector(choice.extensions === undefined ? {} : { extensions: choice.extensions }),
    executableDetector({ scripts: choice.scripts ?? true }),
    signatureDetector({ signatures: [EICAR_SIGNATURE] }),
  ];
  if (choice.hashDb !== undefined && choice.hashDb.length > 0) detectors.push(hashDetector({ files: choice.hashDb }));
  return detectors;
}

/** Parses `--extensions .exe,dll, .scr` into `['.exe', '.dll', '.scr']`. */
export function parseExtensions(list: string): string[] {
  return list
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0)
    .map((e) => (e.startsWith('.') ? e : `.${e}`));
}
