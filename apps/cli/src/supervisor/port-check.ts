import { createServer } from 'node:net';

/**
 * Resolves when host:port can be listened on, so a clash is reported before anything starts. A
 * port is taken by a server listening there, or by an outgoing connection whose local end the
 * system picked there (ports from 32768 on Linux, 49152 on macOS and Windows): the message names both.
 */
export function assertPortFree(port: number, variable: string, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `port ${port} is already in use (by a server, or as the local end of a connection); set ${variable} to another port or stop what uses it`
            : `cannot listen on ${host}:${port} (${error.code ?? error.message})`,
        ),
      ),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
