// A bare WebSocket echo server for tests/bench/console.mjs (no PTY, no zlh): answers each binary
// message with its payload after the first (op) byte, as a console's `cat` does. Prints its
// port on stdout. Run in its own process, so a round trip to it crosses processes as ours do.
import { WebSocketServer } from 'ws';

const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
server.on('listening', () => process.stdout.write(`${server.address().port}\n`));
server.on('connection', (c) => c.on('message', (d) => c.send(d.subarray(1), { binary: true })));
