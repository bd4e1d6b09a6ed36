import { connect, createServer, type Server, type Socket } from 'node:net';
import { freePort, portOf } from '@mercato/chassis/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPortFree } from './port-check.ts';

const listening = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return portOf(server);
};

describe('assertPortFree', () => {
  const open: Array<Server | Socket> = [];
  afterEach(() => {
    for (const handle of open.splice(0)) 'destroy' in handle ? handle.destroy() : handle.close();
  });

  it('resolves for a port nothing holds, and leaves it free', async () => {
    const port = await freePort();
    await assertPortFree(port, 'MERCATO_PG_PORT');
    await assertPortFree(port, 'MERCATO_PG_PORT');
  });

  it('names the port and the variable to change when a server listens there', async () => {
    const server = createServer();
    open.push(server);
    const port = await listening(server);
    await expect(assertPortFree(port, 'MERCATO_GATEWAY_PORT')).rejects.toThrow(
      `port ${port} is already in use (by a server, or as the local end of a connection); set MERCATO_GATEWAY_PORT to another port`,
    );
  });

  it('refuses a port that is the local end of an outgoing connection, though nothing listens on it', async () => {
    const server = createServer((socket) => open.push(socket));
    open.push(server);
    const client = connect(await listening(server), '127.0.0.1');
    open.push(client);
    await new Promise((resolve) => client.once('connect', resolve));
    await expect(assertPortFree(client.localPort ?? 0, 'MERCATO_PG_PORT')).rejects.toThrow(
      /already in use \(by a server, or as the local end of a connection\); set MERCATO_PG_PORT/,
    );
  });
});
