/**
 * bench/http-client's server, in its own process so its CPU is not the client's: answers every
 * request with a payment intent's JSON, as the provider simulator does. Sends its port to the parent.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const intent = JSON.stringify({
  id: 'pi_bench',
  status: 'requires_capture',
  amount: 4_990,
  currency: 'eur',
  amount_received: 0,
  amount_refunded: 0,
});

const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(intent);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
process.on('disconnect', () => process.exit(0));
