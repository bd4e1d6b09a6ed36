/**
 * The physical floor under the gateway's live streams: a plain Node HTTP server that holds every
 * connection it is given open as Server-Sent Events, with the same 15 s keep-alive comment the
 * gateway sends, and nothing else. Started as a process of its own by bench/streams.
 */
import { createServer } from 'node:http';

const HEARTBEAT_MS = 15_000;
const server = createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write('retry: 1000\n\n');
  const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), HEARTBEAT_MS);
  request.once('close', () => clearInterval(heartbeat));
});
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening on ${typeof address === 'object' && address ? address.port : ''}\n`);
});
