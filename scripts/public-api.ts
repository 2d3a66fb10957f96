// The public API is what docs/exports.md lists: one table row per export of `hostwarden`.
// This module reads that list and, for comparison, what src/index.ts really exports (through
// the TypeScript compiler, so type-only exports count too). test/docs/exports.test.ts compares
// the two; scripts/pack-check.ts imports every listed runtime export from the installed tarball.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What kind of thing an export is; `type` covers interfaces and type aliases (no runtime value). */
export type ExportKind = 'class' | 'function' | 'constant' | 'type';

/** One export of the package. */
export interface ExportEntry {
  readonly name: string;
  readonly kind: ExportKind;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/** The file that documents the public API. */
export const EXPORTS_DOC = 'docs/exports.md';

const ROW = /^\|\s*`([A-Za-z_$][\w$]*)`\s*\|\s*(class|function|constant|type)\s*\|/;

/** Every export docs/exports.md lists, in document order. Throws on a name listed twice. */
export function documentedExports(markdown = readFileSync(`${root}${EXPORTS_DOC}`, 'utf8')): ExportEntry[] {
  const entries: ExportEntry[] = [];
  const seen = new Set<string>();
  for (const line of markdown.split('\n')) {
    const m = ROW.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (seen.has(name)) throw new Error(`${EXPORTS_DOC}: \`${name}\` is listed twice`);
    seen.add(name);
    entries.push({ name, kind: m[2] as ExportKind });
  }
  return entries;
}

/**
 * Every export of src/index.ts with its kind, as the compiler sees it (re-exports followed).
 * A name that is both a value and a type (a class, a constant with a type of the same name)
 * takes the value's kind.
 */
export async function actualExports(entry = `${root}src/index.ts`): Promise<ExportEntry[]> {
  const { default: ts } = await import('typescript');
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`${entry}: not a module`);
  return checker.getExportsOfModule(module).map((symbol) => {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const flags = target.flags;
    const kind: ExportKind =
      flags & ts.SymbolFlags.Class ? 'class' : flags & ts.SymbolFlags.Function ? 'function' : flags & (ts.SymbolFlags.Variable | ts.SymbolFlags.Enum) ? 'constant' : 'type';
    return { name: symbol.name, kind };
  });
}
