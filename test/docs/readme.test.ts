import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { syncReadme } from '../../scripts/sync-readme.js';

describe('README.md', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

  it('starts with the two set-up commands', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    assert.match(firstBlock, /^npm install && npm run demo/m);
    assert.match(firstBlock, /^npm test/m);
  });

  it("carries each class's reference tables exactly as docs/ has them (run `npm run readme`)", () => {
    assert.equal(readme, syncReadme(readme));
  });
});
