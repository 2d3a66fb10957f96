import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EICAR_SIGNATURE,
  EICAR_TEST_STRING,
  executableDetector,
  extensionDetector,
  FileScanner,
  hashDetector,
  InvalidOptionError,
  IoError,
  ParseError,
  parseHashSignature,
  signatureDetector,
  type Finding,
  type FileScannerOptions,
} from '../../src/index.js';
import { elfImage, fatMachO, javaClass, machoImage, mzOnly, peImage, tempDir } from './samples.js';

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const md5 = (data: string | Buffer): string => createHash('md5').update(data).digest('hex');

async function scan(dir: string, options: Omit<FileScannerOptions, 'roots'> = {}): Promise<Finding[]> {
  const scanner = new FileScanner({ roots: [dir], threads: 2, ...options });
  const report = await scanner.scan();
  return [...report.findings];
}

function byName(findings: readonly Finding[], name: string): Finding[] {
  return findings.filter((f) => f.path.endsWith(`/${name}`));
}

describe('extensionDetector', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(join(dir, 'setup.exe'), peImage());
    await writeFile(join(dir, 'UPPER.EXE'), peImage());
    await writeFile(join(dir, 'Mixed.DlL'), peImage({ dll: true }));
    await writeFile(join(dir, 'invoice.pdf.exe'), peImage());
    await writeFile(join(dir, 'notes.exe'), 'just some text, not a program\n');
    await writeFile(join(dir, 'empty.exe'), '');
    await writeFile(join(dir, 'readme.txt'), 'hello');
    await writeFile(join(dir, 'exe'), 'no dot');
    await writeFile(join(dir, 'tool.scr'), peImage());
  });
  after(() => cleanup());

  it('reports .exe and .dll case-insensitively, nothing else by default', async () => {
    const findings = (await scan(dir, { detectors: [extensionDetector()] })).filter((f) => f.detector === 'extension');
    const names = findings.map((f) => f.path.slice(dir.length + 1)).sort();
    assert.deepEqual(names, ['Mixed.DlL', 'UPPER.EXE', 'empty.exe', 'invoice.pdf.exe', 'notes.exe', 'setup.exe']);
    for (const f of findings) assert.equal(f.rule, 'file.extension');
  });

  it('names the double extension', async () => {
    const [f] = byName(await scan(dir, { detectors: [extensionDetector()] }), 'invoice.pdf.exe');
    assert.match(f?.reason ?? '', /named \.pdf\.exe \(double extension\)/);
    assert.equal(f?.severity, 'warning');
  });

  it('rates a text file named .exe lower than a real PE', async () => {
    const findings = await scan(dir);
    const text = byName(findings, 'notes.exe');
    const real = byName(findings, 'setup.exe');
    const worst = (list: Finding[]) => (list.some((f) => f.severity === 'critical') ? 2 : list.some((f) => f.severity === 'warning') ? 1 : 0);
    assert.equal(text.length, 1);
    assert.equal(text[0]?.severity, 'info');
    assert.match(text[0]?.reason ?? '', /not a Windows executable/);
    assert.ok(worst(real) > worst(text), 'a real PE must outrank a text file with the same extension');
    assert.ok(real.some((f) => f.detector === 'executable'));
  });

  it('takes custom extensions with or without the dot', async () => {
    const findings = await scan(dir, { detectors: [extensionDetector({ extensions: ['scr', '.TXT'] })] });
    assert.deepEqual(findings.map((f) => f.path.slice(dir.length + 1)).sort(), ['readme.txt', 'tool.scr']);
  });

  it('rejects bad options', () => {
    assert.throws(() => extensionDetector({ extensions: [] }), InvalidOptionError);
    assert.throws(() => extensionDetector({ extensions: ['.'] }), /extensions\[0\]/);
    assert.throws(() => extensionDetector({ severity: 'fatal' as never }), /severity/);
  });
});

describe('executableDetector', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(join(dir, 'invoice.pdf'), peImage());
    await writeFile(join(dir, 'library.dll'), peImage({ dll: true, machine: 0x14c }));
    await writeFile(join(dir, 'holiday.jpg'), elfImage(2));
    await writeFile(join(dir, 'a.out'), elfImage(2));
    await writeFile(join(dir, 'libx.so'), elfImage(3));
    await writeFile(join(dir, 'macho-be32'), machoImage([0xfe, 0xed, 0xfa, 0xce]));
    await writeFile(join(dir, 'macho-le32'), machoImage([0xce, 0xfa, 0xed, 0xfe]));
    await writeFile(join(dir, 'macho-be64'), machoImage([0xfe, 0xed, 0xfa, 0xcf]));
    await writeFile(join(dir, 'song.mp3'), machoImage([0xcf, 0xfa, 0xed, 0xfe]));
    await writeFile(join(dir, 'universal'), fatMachO());
    await writeFile(join(dir, 'Main.class'), javaClass());
    await writeFile(join(dir, 'deploy.sh'), '#!/bin/bash\nrm -rf /tmp/x\n');
    await writeFile(join(dir, 'photo.png'), '#!/usr/bin/env python3\nimport os\n');
    await writeFile(join(dir, 'mz.txt'), mzOnly());
    await writeFile(join(dir, 'tiny'), 'MZ');
    await writeFile(join(dir, 'plain.txt'), 'hello world');
  });
  after(() => cleanup());

  it('finds PE, ELF, Mach-O (all magics and fat) and scripts by content, whatever the name', async () => {
    const findings = (await scan(dir, { detectors: [executableDetector()] })).filter((f) => f.detector === 'executable');
    const format = (name: string) => byName(findings, name)[0]?.labels['format'];
    assert.equal(format('invoice.pdf'), 'pe');
    assert.equal(format('library.dll'), 'pe');
    assert.equal(format('holiday.jpg'), 'elf');
    assert.equal(format('a.out'), 'elf');
    assert.equal(format('libx.so'), 'elf');
    for (const name of ['macho-be32', 'macho-le32', 'macho-be64', 'song.mp3', 'universal']) assert.equal(format(name), 'macho', name);
    assert.equal(format('deploy.sh'), 'script');
    assert.equal(format('photo.png'), 'script');
    for (const name of ['Main.class', 'mz.txt', 'tiny', 'plain.txt']) assert.equal(byName(findings, name).length, 0, name);
  });

  it('explains lies, at a higher severity', async () => {
    const findings = await scan(dir, { detectors: [executableDetector()] });
    const one = (name: string) => byName(findings, name)[0] as Finding;
    assert.match(one('invoice.pdf').reason, /^PE executable named \.pdf/);
    assert.equal(one('invoice.pdf').severity, 'critical');
    assert.match(one('holiday.jpg').reason, /^ELF executable named \.jpg/);
    assert.equal(one('holiday.jpg').severity, 'critical');
    assert.equal(one('a.out').severity, 'info');
    assert.match(one('library.dll').reason, /PE DLL \(Windows, x86\)/);
    assert.equal(one('library.dll').severity, 'warning');
    assert.match(one('song.mp3').reason, /^Mach-O executable named \.mp3/);
    assert.match(one('photo.png').reason, /script named \.png \(#!\/usr\/bin\/env python3\)/);
    assert.equal(one('photo.png').severity, 'warning');
    assert.equal(one('deploy.sh').severity, 'info');
    assert.equal(one('deploy.sh').labels['interpreter'], '/bin/bash');
  });

  it("calls a PIE binary an executable and a library a shared object (the system's own files)", async () => {
    // Debian builds every program as PIE (ET_DYN with PT_INTERP), like `file` says "pie executable".
    const real = join(dir, 'real');
    await mkdir(real);
    await writeFile(join(real, 'ls'), await readFile('/bin/ls'));
    await writeFile(join(real, 'libm.so.6'), await readFile('/lib/x86_64-linux-gnu/libm.so.6'));
    const findings = await scan(real, { detectors: [executableDetector()] });
    assert.match(byName(findings, 'ls')[0]?.reason ?? '', /^ELF executable \(64-bit, PIE\)/);
    assert.equal(byName(findings, 'ls')[0]?.severity, 'info');
    assert.match(byName(findings, 'libm.so.6')[0]?.reason ?? '', /^ELF shared object \(64-bit\)/);
  });

  it('can leave scripts out', async () => {
    const findings = await scan(dir, { detectors: [executableDetector({ scripts: false })] });
    assert.equal(findings.filter((f) => f.labels['format'] === 'script').length, 0);
    assert.ok(findings.length > 0);
  });
});

describe('hashDetector and ClamAV databases', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const malware = Buffer.from('pretend this is a dropper payload\n');
  const other = Buffer.from('another bad thing, size-less signature\n');
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'tree'));
    await writeFile(join(dir, 'tree', 'payload.bin'), malware);
    await writeFile(join(dir, 'tree', 'same-size-but-clean.bin'), Buffer.alloc(malware.length, 0x41));
    await writeFile(join(dir, 'tree', 'other.dat'), other);
    await writeFile(join(dir, 'tree', 'eicar.com'), EICAR_TEST_STRING);
    await writeFile(join(dir, 'tree', 'clean.txt'), 'nothing to see here, and a different size');
    await writeFile(join(dir, 'sigs.hsb'), [`${sha256(malware)}:${malware.length}:Test.Dropper-1`, `${sha256(other)}:*:Test.Sizeless-1:73`, ''].join('\n'));
    await writeFile(join(dir, 'sigs.hdb'), `${md5(EICAR_TEST_STRING)}:68:Eicar-Test-Signature\n`);
  });
  after(() => cleanup());

  it('matches sized and size-less signatures from .hsb and .hdb files', async () => {
    const scanner = new FileScanner({ roots: [join(dir, 'tree')], threads: 2, detectors: [hashDetector({ files: [join(dir, 'sigs.hsb'), join(dir, 'sigs.hdb')] })] });
    const report = await scanner.scan();
    const names = report.findings.map((f) => `${f.path.slice(dir.length + 6)}=${f.labels['signature']}`).sort();
    assert.deepEqual(names, ['eicar.com=Eicar-Test-Signature', 'other.dat=Test.Sizeless-1', 'payload.bin=Test.Dropper-1']);
    const payload = report.findings.find((f) => f.path.endsWith('payload.bin'));
    assert.equal(payload?.rule, 'file.hash-match');
    assert.equal(payload?.severity, 'critical');
    assert.equal(payload?.sha256, sha256(malware));
  });

  it('hashes only files of a listed size when every signature is sized', async () => {
    const scanner = new FileScanner({
      roots: [join(dir, 'tree')],
      threads: 1,
      detectors: [hashDetector({ signatures: [{ algorithm: 'sha256', hash: sha256(malware), size: malware.length, name: 'X' }] })],
    });
    const report = await scanner.scan();
    // Only payload.bin and same-size-but-clean.bin have that size.
    assert.equal(report.bytesHashed, 2 * malware.length);
    assert.equal(report.findings.length, 1);
  });

  it('hashes every file when a signature has no size', async () => {
    const scanner = new FileScanner({ roots: [join(dir, 'tree')], threads: 1, detectors: [hashDetector({ sha256: [sha256(other)] })] });
    const report = await scanner.scan();
    assert.equal(report.bytesHashed, report.bytesScanned);
    assert.deepEqual(
      report.findings.map((f) => f.path.slice(dir.length + 6)),
      ['other.dat'],
    );
  });

  it('takes md5 digests inline', async () => {
    const scanner = new FileScanner({ roots: [join(dir, 'tree')], threads: 1, detectors: [hashDetector({ md5: [md5(EICAR_TEST_STRING).toUpperCase()] })] });
    const report = await scanner.scan();
    assert.deepEqual(
      report.findings.map((f) => f.labels['algorithm']),
      ['md5'],
    );
  });

  it('re-reads its databases at every scan', async () => {
    const db = join(dir, 'updated.hsb');
    await writeFile(db, `${sha256('unrelated')}:9:Nothing-1\n`);
    const scanner = new FileScanner({ roots: [join(dir, 'tree')], threads: 1, detectors: [hashDetector({ files: [db] })] });
    assert.equal((await scanner.scan()).findings.length, 0);
    await writeFile(db, `${sha256(malware)}:${malware.length}:Test.Dropper-2\n`);
    const second = await scanner.scan();
    assert.deepEqual(
      second.findings.map((f) => f.labels['signature']),
      ['Test.Dropper-2'],
    );
  });

  it('reads each file right when most files share one read and a few need another', async () => {
    // Many small files needing hashes and a signature search (read with their lstat once
    // the pattern is learned), then a big one past the signature detector's size limit.
    const tree = join(dir, 'mixed');
    await mkdir(tree);
    for (let i = 0; i < 30; i++) await writeFile(join(tree, `small${String(i).padStart(2, '0')}.txt`), `small file ${i}\n`);
    await writeFile(join(tree, 'small15.txt'), `prefix ${EICAR_TEST_STRING}`);
    const big = Buffer.alloc(300_000, 0x42);
    await writeFile(join(tree, 'big.bin'), big);
    const scanner = new FileScanner({
      roots: [tree],
      threads: 2,
      concurrency: 4,
      detectors: [hashDetector({ sha256: [sha256(big), sha256('small file 29\n')] }), signatureDetector({ signatures: [EICAR_SIGNATURE], maxFileSize: 100_000 })],
    });
    const report = await scanner.scan();
    const found = report.findings.map((f) => `${f.path.slice(tree.length + 1)}:${f.rule}`).sort();
    assert.deepEqual(found, ['big.bin:file.hash-match', 'small15.txt:file.signature', 'small29.txt:file.hash-match']);
    assert.equal(report.bytesHashed, report.bytesScanned, 'every file counted as read in full once');
    // small29's digest is in the list but it was read speculatively with the signature search
    // too: the extra match list must not leak into other detectors.
    assert.equal(report.findings.filter((f) => f.rule === 'file.signature').length, 1);
  });

  it('rejects a malformed database with the line number', async () => {
    const bad = join(dir, 'bad.hsb');
    await writeFile(bad, `${sha256(malware)}:${malware.length}:Ok-1\nnot-a-hash:12:Broken\n`);
    const scanner = new FileScanner({ roots: [join(dir, 'tree')], detectors: [hashDetector({ files: [bad] })] });
    await assert.rejects(scanner.scan(), (error: unknown) => {
      assert.ok(error instanceof ParseError);
      assert.equal(error.line, 2);
      assert.equal(error.source, bad);
      return true;
    });
  });

  it('fails the scan with an IoError when a database cannot be read', async () => {
    const scanner = new FileScanner({ roots: [join(dir, 'tree')], detectors: [hashDetector({ files: [join(dir, 'missing.hsb')] })] });
    await assert.rejects(scanner.scan(), (error: unknown) => error instanceof IoError && error.path === join(dir, 'missing.hsb'));
  });

  it('parses the ClamAV line forms', () => {
    assert.deepEqual(parseHashSignature(`${md5('x')}:1:Name`), { algorithm: 'md5', hash: md5('x'), size: 1, name: 'Name' });
    assert.equal(parseHashSignature(`${sha256('x')}:*:Name:73`)?.size, undefined);
    assert.equal(parseHashSignature(`${'a'.repeat(40)}:5:Sha1Name:73:255`)?.algorithm, 'sha1');
    assert.equal(parseHashSignature('   '), undefined);
    assert.throws(() => parseHashSignature(`${md5('x')}:big:Name`, 'db', 7), /db:7: the size/);
    assert.throws(() => parseHashSignature(`${md5('x')}:1:`, 'db', 3), ParseError);
    assert.throws(() => parseHashSignature('abc:1:Name'), /32 \(MD5\)/);
  });

  it('rejects bad options at construction', () => {
    assert.throws(() => hashDetector({}), InvalidOptionError);
    assert.throws(() => hashDetector({ sha256: ['xyz'] }), /sha256\[0\]/);
    assert.throws(() => hashDetector({ md5: [sha256('a')] }), /md5\[0\]/);
  });
});

describe('signatureDetector', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const chunk = 4096;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await writeFile(join(dir, 'eicar.com'), `${EICAR_TEST_STRING}\r\n`);
    // The EICAR string straddles the first chunk boundary.
    const straddle = Buffer.alloc(chunk * 3, 0x2e);
    straddle.write(EICAR_TEST_STRING, chunk - 30, 'latin1');
    await writeFile(join(dir, 'straddle.bin'), straddle);
    const shell = Buffer.alloc(chunk * 2 + 100, 0x20);
    shell.write('<?php eval($_POST["cmd"]); ?>', chunk - 10, 'latin1');
    await writeFile(join(dir, 'upload.php'), shell);
    await writeFile(join(dir, 'bytes.bin'), Buffer.from([0, 1, 2, 0xde, 0xad, 0xbe, 0xef, 3]));
    await writeFile(join(dir, 'clean.txt'), 'X5O!P%@AP but not the rest');
  });
  after(() => cleanup());

  it('finds text, RegExp and byte signatures, also across chunk boundaries', async () => {
    const detector = signatureDetector({
      signatures: [
        EICAR_SIGNATURE,
        { id: 'php.eval-post', pattern: /eval\s*\(\s*\$_(POST|GET|REQUEST)/, severity: 'critical' },
        { id: 'deadbeef', pattern: new Uint8Array([0xde, 0xad, 0xbe, 0xef]), severity: 'warning' },
      ],
    });
    const report = await new FileScanner({ roots: [dir], threads: 2, chunkSize: chunk, detectors: [detector] }).scan();
    const found = report.findings.map((f) => `${f.path.slice(dir.length + 1)}=${f.labels['signature']}`).sort();
    assert.deepEqual(found, ['bytes.bin=deadbeef', 'eicar.com=Eicar-Test-Signature', 'straddle.bin=Eicar-Test-Signature', 'upload.php=php.eval-post']);
    const straddle = report.findings.find((f) => f.path.endsWith('straddle.bin'));
    assert.match(straddle?.reason ?? '', new RegExp(`at byte ${chunk - 30}$`));
    const php = report.findings.find((f) => f.path.endsWith('upload.php'));
    assert.match(php?.reason ?? '', new RegExp(`at byte ${chunk - 4}$`));
  });

  it('rejects empty patterns and duplicate ids', () => {
    assert.throws(() => signatureDetector({ signatures: [] }), InvalidOptionError);
    assert.throws(() => signatureDetector({ signatures: [{ id: 'a', pattern: '', severity: 'info' }] }), /pattern/);
    assert.throws(() => signatureDetector({ signatures: [EICAR_SIGNATURE, EICAR_SIGNATURE] }), /unique id/);
  });
});
