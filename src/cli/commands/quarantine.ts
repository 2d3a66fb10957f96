import { resolve } from 'node:path';
import { Quarantine } from '../../quarantine/quarantine.js';
import { EXIT, type CliContext } from '../context.js';
import { formatBytes } from '../../core/format.js';
import { displayPath, escapeTerminal } from '../../core/text.js';
import type { QuarantineRecord } from '../../quarantine/record.js';
import type { QuarantineCliOptions } from '../program.js';

const one = (s: string): string => escapeTerminal(s, { singleLine: true });
// The exact original path, escaped (bytes that are not UTF-8 as \xNN).
const original = (r: QuarantineRecord): string => displayPath(r.rawOriginalPath ?? r.originalPath);

/** `hostwarden quarantine list`: what is isolated, newest last. */
export async function quarantineList(opts: QuarantineCliOptions, ctx: CliContext): Promise<number> {
  const records = await new Quarantine({ directory: opts.dir }).list();
  if (opts.json) {
    // A path that is not UTF-8 is given exactly, as hex.
    const json = records.map(({ rawOriginalPath, ...r }) => (rawOriginalPath ? { ...r, rawOriginalPathHex: rawOriginalPath.toString('hex') } : r));
    ctx.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    return EXIT.ok;
  }
  if (records.length === 0) {
    ctx.stdout.write(`No files in quarantine ${one(opts.dir)}\n`);
    return EXIT.ok;
  }
  const sorted = [...records].sort((a, b) => a.quarantinedAt.getTime() - b.quarantinedAt.getTime());
  const idWidth = Math.max(2, ...sorted.map((r) => r.id.length));
  ctx.stdout.write(`${'ID'.padEnd(idWidth)}  ${'QUARANTINED'.padEnd(20)}  ${'SIZE'.padStart(9)}  ORIGINAL PATH — REASON\n`);
  for (const r of sorted) {
    ctx.stdout.write(
      `${r.id.padEnd(idWidth)}  ${r.quarantinedAt.toISOString().slice(0, 19).replace('T', ' ').padEnd(20)}  ${formatBytes(r.size).padStart(9)}  ${original(r)} — ${one(r.reason)}\n` +
        `${' '.repeat(idWidth)}  sha256 ${r.sha256}  mode ${(r.mode & 0o7777).toString(8).padStart(4, '0')} uid ${r.uid} gid ${r.gid}\n`,
    );
  }
  ctx.stdout.write(`${records.length} file${records.length === 1 ? '' : 's'} in quarantine\n`);
  return EXIT.ok;
}

/** `hostwarden quarantine restore <id>`: back where it was; refuses to overwrite. */
export async function quarantineRestore(id: string, opts: QuarantineCliOptions, ctx: CliContext): Promise<number> {
  const record = await new Quarantine({ directory: opts.dir }).restore(id, opts.to === undefined ? {} : { to: resolve(opts.to) });
  ctx.stdout.write(`Restored ${one(record.id)} to ${opts.to === undefined ? original(record) : one(resolve(opts.to))}\n`);
  return EXIT.ok;
}

/** `hostwarden quarantine remove <id>`: deletes the file and its record. */
export async function quarantineRemove(id: string, opts: QuarantineCliOptions, ctx: CliContext): Promise<number> {
  const q = new Quarantine({ directory: opts.dir });
  const record = await q.get(id);
  await q.remove(id);
  ctx.stdout.write(`Removed ${one(record.id)} (was ${original(record)})\n`);
  return EXIT.ok;
}
