// Runs inside the attacker namespace: reads one JSON request per line on stdin
// ({ id, src, dst, port, timeout }) and answers one JSON line: did a TCP connect from
// `src` to `dst`:`port` get the listener's greeting?
import net from 'node:net';
import readline from 'node:readline';
import { clearTimeout, setTimeout } from 'node:timers';

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const { id, src, dst, port, timeout } = JSON.parse(line);
  const socket = net.connect({ host: dst, port, localAddress: src });
  let done = false;
  const answer = (ok, error) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    socket.destroy();
    process.stdout.write(`${JSON.stringify({ id, ok, error })}\n`);
  };
  const timer = setTimeout(() => answer(false, 'timeout'), timeout);
  socket.once('data', () => answer(true));
  socket.once('error', (e) => answer(false, e.code));
  socket.once('close', () => answer(false, 'closed'));
});
process.stdout.write('ready\n');
