import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actualExports, documentedExports, EXPORTS_DOC, type ExportEntry } from '../../scripts/public-api.js';

/** Differences between two export lists, one readable line each. */
function differences(documented: readonly ExportEntry[], actual: readonly ExportEntry[]): string[] {
  const listed = new Map(documented.map((e) => [e.name, e.kind]));
  const exported = new Map(actual.map((e) => [e.name, e.kind]));
  const problems: string[] = [];
  for (const [name, kind] of exported) {
    const row = listed.get(name);
    if (row === undefined) problems.push(`\`${name}\` (${kind}) is exported by src/index.ts but not listed in ${EXPORTS_DOC}: add a row, or stop exporting it`);
    else if (row !== kind) problems.push(`\`${name}\` is listed as ${row} in ${EXPORTS_DOC} but is a ${kind}`);
  }
  for (const [name, kind] of listed) {
    if (!exported.has(name)) problems.push(`\`${name}\` (${kind}) is listed in ${EXPORTS_DOC} but src/index.ts does not export it`);
  }
  return problems;
}

describe(`the public API is what ${EXPORTS_DOC} lists`, () => {
  const documented = documentedExports();

  it('lists every export of src/index.ts, types included, with its kind, and nothing else', async () => {
    assert.deepEqual(differences(documented, await actualExports()), []);
  });

  it('has exactly the listed runtime exports when src/index.ts is imported', async () => {
    const runtime = Object.keys(await import('../../src/index.js')).sort();
    const listed = documented
      .filter((e) => e.kind !== 'type')
      .map((e) => e.name)
      .sort();
    assert.deepEqual(runtime, listed);
  });

  it('keeps the shared helpers out (escapers, renderers, label sanitizers)', async () => {
    const runtime = new Set(Object.keys(await import('../../src/index.js')));
    for (const helper of ['truncate', 'escapeSlack', 'escapeSlackCode', 'escapeHtml', 'renderSlackMessage', 'renderEmailHtml', 'sanitizeLabelName', 'alertmanagerLabels']) {
      assert.ok(!runtime.has(helper), `${helper} is a helper, not public API`);
    }
  });

  it('reports a missing row, an extra row and a wrong kind by name', () => {
    const problems = differences(
      [
        { name: 'Listed', kind: 'class' },
        { name: 'WrongKind', kind: 'type' },
      ],
      [
        { name: 'WrongKind', kind: 'function' },
        { name: 'Unlisted', kind: 'constant' },
      ],
    );
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /`WrongKind` is listed as type .* but is a function/);
    assert.match(problems.join('\n'), /`Unlisted` \(constant\) is exported .* not listed/);
    assert.match(problems.join('\n'), /`Listed` \(class\) is listed .* does not export it/);
  });

  it('refuses a name listed twice', () => {
    assert.throws(() => documentedExports('| `A` | class | x |\n| `A` | type | y |\n'), /`A` is listed twice/);
  });
});
