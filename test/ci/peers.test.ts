import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MissingPeerError, optionalPeer, PEERS, requirePeer, skipUnlessPeers, type PeerName } from '../helpers/peers.js';

const aptPackages = readFileSync(new URL('../../.ci/apt-packages', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('#'))
  .map((line) => line.trim().split(/\s+/) as [string, string]);

// A peer no machine has: the helper's behaviour when something is missing, on any machine.
const ghost = 'ghost' as PeerName;
(PEERS as Record<string, unknown>)[ghost] = { paths: ['/nonexistent/hostwarden-ghost-peer'], debian: 'hostwarden-ghost' };

describe('peers the tests use', () => {
  it('each one is installed by .ci/run from .ci/apt-packages', () => {
    const packages = new Set(aptPackages.map(([, pkg]) => pkg));
    for (const [name, spec] of Object.entries(PEERS)) {
      if (name === ghost) continue;
      assert.ok(packages.has(spec.debian), `peer ${name}: .ci/apt-packages has no line for the Debian package ${spec.debian}`);
    }
  });

  it('.ci/run makes a missing peer fail the run, and runs the pack check', () => {
    const run = readFileSync(new URL('../../.ci/run', import.meta.url), 'utf8');
    assert.match(run, /^export HOSTWARDEN_REQUIRE_PEERS=1$/m);
    assert.ok(run.indexOf('HOSTWARDEN_REQUIRE_PEERS=1') < run.indexOf('npm test'), 'set before npm test');
    assert.match(run, /^npm run pack-check$/m);
  });

  it('a missing peer skips with its name and the package that provides it', () => {
    assert.equal(skipUnlessPeers([ghost], {}), 'peer "ghost" is not installed (apt-get install hostwarden-ghost)');
    const skips: (string | undefined)[] = [];
    assert.equal(requirePeer({ skip: (message?: string) => void skips.push(message) }, ghost, {}), undefined);
    assert.deepEqual(skips, ['peer "ghost" is not installed (apt-get install hostwarden-ghost)']);
    const notes: string[] = [];
    assert.equal(optionalPeer({ diagnostic: (message: string) => void notes.push(message) }, ghost, {}), undefined);
    assert.match(notes[0] ?? '', /ghost.*did not run/);
  });

  it('skips only for the peers that are missing, not for a neighbour', () => {
    // `node` itself stands in for an installed peer.
    (PEERS as Record<string, unknown>)['node-itself'] = { paths: [process.execPath], debian: 'nodejs' };
    try {
      assert.equal(skipUnlessPeers(['node-itself' as PeerName], {}), false);
      assert.equal(skipUnlessPeers(['node-itself' as PeerName, ghost], {}), 'peer "ghost" is not installed (apt-get install hostwarden-ghost)');
    } finally {
      delete (PEERS as Record<string, unknown>)['node-itself'];
    }
  });

  it('fails instead of skipping under HOSTWARDEN_REQUIRE_PEERS=1', () => {
    const env = { HOSTWARDEN_REQUIRE_PEERS: '1' };
    assert.throws(
      () => skipUnlessPeers([ghost], env),
      (e: unknown) => e instanceof MissingPeerError && /ghost.*HOSTWARDEN_REQUIRE_PEERS=1/.test(e.message),
    );
    assert.throws(() => requirePeer({ skip: () => assert.fail('must not skip') }, ghost, env), MissingPeerError);
    assert.throws(() => optionalPeer({ diagnostic: () => undefined }, ghost, env), MissingPeerError);
  });

  it('finds commands on PATH', () => {
    (PEERS as Record<string, unknown>)['node-on-path'] = { command: 'node', debian: 'nodejs' };
    try {
      assert.equal(skipUnlessPeers(['node-on-path' as PeerName], {}), false);
    } finally {
      delete (PEERS as Record<string, unknown>)['node-on-path'];
    }
  });
});
