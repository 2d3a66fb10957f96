// A hostwarden process that bans the given addresses in a namespace and then waits to be
// killed: argv = stateFile, nft command as JSON, addresses...
import { BanManager } from '../../../src/response/ban-manager.js';
import { NftablesBackend } from '../../../src/response/nftables-backend.js';

const [stateFile, nftJson, ...addresses] = process.argv.slice(2) as [string, string, ...string[]];
const backend = new NftablesBackend({ table: 'hwkill', nftCommand: JSON.parse(nftJson) as string[], action: 'reject' });
const manager = new BanManager({ backend, stateFile, banTime: '1h', ignoreSshSession: false, persistent: true });
await manager.start();
await Promise.all(addresses.map((a) => manager.ban(a, { reason: 'test' })));
process.stdout.write('banned\n');
setInterval(() => {}, 1 << 30);
