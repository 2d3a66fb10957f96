// nftablesChecks (for `hostwarden doctor`) against a real namespace and a missing nft.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nftablesChecks } from '../../src/response/doctor-checks.js';
import { NftablesBackend } from '../../src/response/nftables-backend.js';
import { createLab, run, type Lab } from './helpers/netns.js';

describe('nftablesChecks', () => {
  let lab: Lab;
  before(async () => {
    lab = await createLab();
  });
  after(async () => {
    await lab?.close();
  });

  it('reports nft, the permission and the table with its bans', async () => {
    const missing = await nftablesChecks({ table: 'hwdoc', nftCommand: lab.nft });
    assert.deepEqual(
      missing.map((c) => [c.name, c.ok]),
      [
        ['nft', true],
        ['nft permission', true],
        ['ban table', false],
      ],
    );
    assert.match(missing[2]?.message ?? '', /does not exist/);
    await new NftablesBackend({ table: 'hwdoc', nftCommand: lab.nft }).start([
      { address: '192.0.2.1', until: Date.now() + 60_000 },
      { address: '2001:db8::/64', until: Date.now() + 60_000 },
    ]);
    const present = await nftablesChecks({ table: 'hwdoc', nftCommand: lab.nft });
    assert.equal(present[2]?.ok, true);
    assert.match(present[2]?.message ?? '', /1 IPv4 and 1 IPv6 bans/);
    run('ip', ['netns', 'exec', lab.def, 'nft', 'delete', 'table', 'inet', 'hwdoc']);
  });

  it('says how to install nft when it cannot run', async () => {
    const [check] = await nftablesChecks({ nftCommand: ['/nonexistent/nft'] });
    assert.equal(check?.ok, false);
    assert.match(check?.message ?? '', /apt-get install nftables/);
  });
});
