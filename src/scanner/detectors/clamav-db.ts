import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { IoError, ParseError } from '../../core/errors.js';
import type { HashAlgorithm } from '../types.js';

/** One blocklisted digest, from a ClamAV database or given directly. */
export interface HashSignature {
  /** The digest's algorithm; inferred from the hex length when parsed (32 md5, 40 sha1, 64 sha256). */
  readonly algorithm: HashAlgorithm;
  /** Lower-case hex digest. */
  readonly hash: string;
  /** The file size the digest applies to; `undefined` (ClamAV's `*`) matches any size. */
  readonly size: number | undefined;
  /** The malware's name, e.g. `Win.Test.EICAR_HDB-1`. */
  readonly name: string;
}

const ALGORITHM_BY_LENGTH: Readonly<Record<number, HashAlgorithm>> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };

/**
 * Parses one line of a ClamAV hash database (`.hdb`, `.hsb`, `.hdu`, `.hsu`):
 * `HashString:FileSize:MalwareName[:MinFL[:MaxFL]]`, where `FileSize` may be `*` (any
 * size; ClamAV requires `MinFL` >= 73 for that). Returns `undefined` for a blank line.
 *
 * @throws {@link ParseError} naming the line when it is malformed.
 * @example
 * parseHashSignature('44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature', 'test.hdb', 1);
 * // { algorithm: 'md5', hash: '44d8…', size: 68, name: 'Eicar-Test-Signature' }
 */
export function parseHashSignature(line: string, source = 'signatures', lineNumber = 1): HashSignature | undefined {
  const text = line.trim();
  if (text.length === 0 || text.startsWith('#')) return undefined;
  const fields = text.split(':');
  const fail = (why: string): never => {
    throw new ParseError(`${source}:${lineNumber}: ${why}`, { source, line: lineNumber });
  };
  if (fields.length < 3 || fields.length > 5) fail(`expected hash:size:name[:minfl[:maxfl]], got ${fields.length} field(s)`);
  const [hash = '', size = '', name = '', minFl, maxFl] = fields;
  const algorithm = ALGORITHM_BY_LENGTH[hash.length];
  if (!algorithm || !/^[0-9a-fA-F]+$/.test(hash)) fail('the hash must be 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex digits');
  if (size !== '*' && !/^\d{1,15}$/.test(size)) fail(`the size must be a decimal number or '*', got ${JSON.stringify(size.slice(0, 20))}`);
  if (name.length === 0) fail('the malware name is empty');
  for (const fl of [minFl, maxFl]) if (fl !== undefined && fl !== '' && !/^\d+$/.test(fl)) fail('the functionality level must be a number');
  return { algorithm: algorithm as HashAlgorithm, hash: hash.toLowerCase(), size: size === '*' ? undefined : Number(size), name };
}

/**
 * Reads a ClamAV hash database line by line (streamed, so a large `main.hsb` does not sit in
 * memory as text), calling `onSignature` for each entry. Resolves to a SHA-256 of the file.
 *
 * @throws {@link ParseError} with the line number of the first malformed line.
 * @throws {@link IoError} when the file cannot be read.
 * @internal
 */
export async function readHashDatabase(path: string, onSignature: (signature: HashSignature) => void): Promise<string> {
  const digest = createHash('sha256');
  const stream = createReadStream(path);
  stream.on('data', (chunk) => digest.update(chunk));
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      const signature = parseHashSignature(line, path, lineNumber);
      if (signature) onSignature(signature);
    }
  } catch (error) {
    if (error instanceof ParseError) throw error;
    throw new IoError(`Cannot read the hash database ${path}`, { path, syscall: 'read', cause: error });
  } finally {
    lines.close();
    stream.destroy();
  }
  return digest.digest('hex');
}
