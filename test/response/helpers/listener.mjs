// Runs inside the defended namespace: a TCP server on every address that greets and
// closes; prints "ready" once it listens.
import net from 'node:net';

const server = net.createServer((socket) => socket.end('hello\n'));
server.listen({ port: Number(process.argv[2]), host: '::', ipv6Only: false }, () => process.stdout.write('ready\n'));
